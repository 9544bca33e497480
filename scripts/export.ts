/**
 * `deno task export [--since N] [--until N] > events.jsonl`: writes every stored event as its
 * canonical JSON, one per line, in the order the relay stored them (row id), read from
 * PostgreSQL through a cursor so memory stays flat whatever the table size. `--since` and
 * `--until` bound `created_at` (unix seconds, inclusive). A summary goes to stderr.
 *
 * Restore with `deno task import < events.jsonl` (see docs/OPERATIONS.md).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig } from "../lib/config.ts";
import { connectPostgres } from "../lib/db.ts";
import { errorText } from "../lib/log.ts";

/** Rows fetched per cursor round trip. */
const BATCH = 1000;
const encoder = new TextEncoder();

/** One line on stderr (stdout carries the events). */
function report(fields: Record<string, unknown>): void {
  Deno.stderr.writeSync(encoder.encode(JSON.stringify({ proc: "export", ...fields }) + "\n"));
}

/** Parses `--since` / `--until`; throws a RangeError naming the bad one. */
export function exportBounds(args: string[]): { since?: number; until?: number } {
  const { values } = parseArgs({
    args,
    options: { since: { type: "string" }, until: { type: "string" } },
    strict: true,
  });
  const out: { since?: number; until?: number } = {};
  for (const key of ["since", "until"] as const) {
    const raw = values[key];
    if (raw === undefined) continue;
    if (!/^\d{1,15}$/.test(raw)) {
      throw new RangeError(`Cannot export: --${key} must be a unix time in seconds, got "${raw}"`);
    }
    out[key] = Number(raw);
  }
  return out;
}

/** Streams the events to `out`; returns how many were written. */
export async function exportEvents(
  config: Pick<Config, "databaseUrl">,
  bounds: { since?: number; until?: number },
  out: WritableStreamDefaultWriter<Uint8Array>,
): Promise<number> {
  const sql = connectPostgres(config.databaseUrl, { max: 1, appName: "nostr-relay-export" });
  const since = bounds.since ?? 0;
  const until = bounds.until ?? Number.MAX_SAFE_INTEGER;
  let count = 0;
  try {
    const cursor = sql<{ raw: string }[]>`
      select raw from events
      where created_at >= ${since} and created_at <= ${until}
      order by id`.cursor(BATCH);
    for await (const rows of cursor) {
      await out.write(encoder.encode(rows.map((r) => r.raw).join("\n") + "\n"));
      count += rows.length;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
  return count;
}

if (import.meta.main) {
  let config: Config;
  let bounds: { since?: number; until?: number };
  try {
    config = loadConfig();
    bounds = exportBounds(Deno.args);
  } catch (err) {
    report({ level: "error", msg: err instanceof ConfigError ? err.message : errorText(err) });
    Deno.exit(2);
  }
  const out = Deno.stdout.writable.getWriter();
  try {
    const exported = await exportEvents(config, bounds, out);
    await out.close();
    report({ level: "info", msg: "exported events", exported, ...bounds });
  } catch (err) {
    if (err instanceof Deno.errors.BrokenPipe) Deno.exit(0); // e.g. `| head`
    report({ level: "error", msg: "Cannot export events", error: errorText(err) });
    Deno.exit(1);
  }
}
