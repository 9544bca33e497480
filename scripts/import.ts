/**
 * `deno task import < events.jsonl`: reads events as JSON lines, checks each one's shape and id,
 * and submits it through the same rules as a client's EVENT: a NewEvent job on the BullMQ queue
 * (lib/contract.ts), answered by a running worker on this importer's reply channel. Keeps a
 * bounded number of events in flight (`--in-flight N`, default 200) and prints a summary on stdout:
 * `{"accepted":N,"duplicate":N,"rejected":{"<reason>":N}}`. Needs a worker (`deno task worker`)
 * on the same REDIS_URL and REDIS_PREFIX; gives up when no answer comes for `--timeout` seconds
 * (default 30). Events are imported as if sent by an anonymous client:
 * NIP-70 protected events are refused (`auth-required:`); restore those with pg_restore.
 *
 * @module
 */
import { Queue } from "bullmq";
import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig } from "../lib/config.ts";
import {
  decodeReply,
  JOBS,
  type NewEventJob,
  NODE_ID_LENGTH,
  QUEUES,
  redisKeys,
} from "../lib/contract.ts";
import { errorText } from "../lib/log.ts";
import { canonicalJson, computeId, type NostrEvent } from "../lib/nostr/event.ts";
import { connectRedis } from "../lib/redis.ts";

/** Events submitted and not yet answered, at most. */
export const DEFAULT_IN_FLIGHT = 200;
/** Longest silence from the workers while events are in flight. */
export const DEFAULT_REPLY_TIMEOUT_MS = 30_000;
/** Job options of relay jobs (as relay/enqueue.ts): nothing kept on success. */
const JOB_OPTIONS = { removeOnComplete: true, removeOnFail: 1000 };

const encoder = new TextEncoder();
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/** The outcome counts printed at the end. */
export interface ImportSummary {
  accepted: number;
  duplicate: number;
  rejected: Record<string, number>;
}

/** The event on one line, or the reason to refuse it without asking a worker. */
export function checkLine(line: string): { event: NostrEvent } | { reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { reason: "invalid: line is not JSON" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return { reason: "invalid: line is not a JSON object" };
  }
  const e = v as Record<string, unknown>;
  const ok = typeof e.id === "string" && HEX64.test(e.id) &&
    typeof e.pubkey === "string" && HEX64.test(e.pubkey) &&
    typeof e.sig === "string" && HEX128.test(e.sig) &&
    Number.isSafeInteger(e.created_at) && (e.created_at as number) >= 0 &&
    Number.isInteger(e.kind) && (e.kind as number) >= 0 && (e.kind as number) <= 65535 &&
    typeof e.content === "string" &&
    Array.isArray(e.tags) &&
    e.tags.every((t) => Array.isArray(t) && t.every((x) => typeof x === "string"));
  if (!ok) return { reason: "invalid: not a well-formed event" };
  const event = e as unknown as NostrEvent;
  if (computeId(event) !== event.id) {
    return { reason: "invalid: event id does not match its content" };
  }
  return { event };
}

/** Splits a text stream into lines (without their "\n"). */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const bytes of stream) {
    buf += decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
    }
  }
  buf += decoder.decode();
  if (buf) yield buf;
}

function randomHex(chars: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(chars / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, chars);
}

/** Options of `importEvents`. */
export interface ImportOptions {
  inFlight?: number;
  replyTimeoutMs?: number;
  /** Called for each line refused (1-based line number, reason). */
  onRefused?(line: number, reason: string): void;
}

/**
 * Submits every event of `input` and waits for each answer; returns the counts.
 * @throws {Error} when the workers stay silent for `replyTimeoutMs` with events in flight
 */
export async function importEvents(
  config: Pick<Config, "redisUrl" | "redisPrefix">,
  input: AsyncIterable<string>,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const maxInFlight = options.inFlight ?? DEFAULT_IN_FLIGHT;
  const silenceMs = options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;
  const keys = redisKeys(config.redisPrefix);
  const nodeId = randomHex(NODE_ID_LENGTH);
  const cid = nodeId + randomHex(24);
  const summary: ImportSummary = { accepted: 0, duplicate: 0, rejected: {} };
  const refuse = (reason: string) => summary.rejected[reason] = (summary.rejected[reason] ?? 0) + 1;

  const subscriber = connectRedis(config.redisUrl, { name: `nostr-import-${nodeId}-sub` });
  const connection = connectRedis(config.redisUrl, {
    name: `nostr-import-${nodeId}`,
    forBullmq: true,
  });
  const queue = new Queue<NewEventJob>(QUEUES.event, { connection, prefix: keys.bullPrefix });
  /** Line numbers of the events in flight, by id (a file may hold an event twice). */
  const pending = new Map<string, number[]>();
  let inFlight = 0;
  let lastReply = Date.now();
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  subscriber.on("pmessage", function onReply(_pattern: string, _channel: string, message: string) {
    let frames: string[];
    try {
      const { header, lines } = decodeReply(message);
      if (header.op !== "send") return;
      frames = lines;
    } catch {
      return;
    }
    for (const text of frames) {
      let f: unknown[];
      try {
        f = JSON.parse(text);
      } catch {
        continue;
      }
      if (!Array.isArray(f) || f[0] !== "OK" || typeof f[1] !== "string") continue;
      if (!pending.has(f[1])) continue;
      const waiting = pending.get(f[1])!;
      const line = waiting.shift()!;
      if (!waiting.length) pending.delete(f[1]);
      inFlight--;
      lastReply = Date.now();
      if (f[2] === true) summary.accepted++;
      else if (String(f[3]).startsWith("duplicate:")) summary.duplicate++;
      else {
        refuse(String(f[3]));
        options.onRefused?.(line, String(f[3]));
      }
    }
    notify();
  });

  /** Waits until fewer than `max` events are in flight, or fails after `silenceMs` of silence. */
  async function below(max: number) {
    while (inFlight >= max && inFlight > 0) {
      const silentFor = Date.now() - lastReply;
      if (silentFor > silenceMs) {
        throw new Error(
          `Cannot import: no answer from a worker for ${Math.round(silentFor / 1000)} s ` +
            `with ${inFlight} events in flight (is \`deno task worker\` running on the same ` +
            `REDIS_URL and REDIS_PREFIX?)`,
        );
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 1000);
      });
    }
  }

  let batch: { name: string; data: NewEventJob; opts: typeof JOB_OPTIONS }[] = [];
  async function flush() {
    if (!batch.length) return;
    const jobs = batch;
    batch = [];
    await queue.addBulk(jobs);
  }

  try {
    await subscriber.psubscribe(keys.nodeChannelPattern(nodeId));
    let n = 0;
    for await (const text of input) {
      n++;
      if (!text.trim()) continue;
      const checked = checkLine(text);
      if ("reason" in checked) {
        refuse(checked.reason);
        options.onRefused?.(n, checked.reason);
        continue;
      }
      const id = checked.event.id;
      pending.set(id, [...(pending.get(id) ?? []), n]);
      inFlight++;
      batch.push({
        name: JOBS.newEvent,
        data: { cid, authed: [], event: canonicalJson(checked.event) },
        opts: JOB_OPTIONS,
      });
      if (batch.length >= 100 || inFlight >= maxInFlight) await flush();
      await below(maxInFlight);
    }
    await flush();
    await below(1);
    return summary;
  } finally {
    await queue.close().catch(() => {});
    connection.disconnect();
    subscriber.disconnect();
  }
}

if (import.meta.main) {
  const report = (fields: Record<string, unknown>) =>
    Deno.stderr.writeSync(encoder.encode(JSON.stringify({ proc: "import", ...fields }) + "\n"));
  let config: Config;
  let inFlight = DEFAULT_IN_FLIGHT;
  let replyTimeoutMs = DEFAULT_REPLY_TIMEOUT_MS;
  try {
    config = loadConfig();
    const { values } = parseArgs({
      args: Deno.args,
      options: { "in-flight": { type: "string" }, "timeout": { type: "string" } },
      strict: true,
    });
    if (values["in-flight"] !== undefined) {
      inFlight = Number(values["in-flight"]);
      if (!Number.isInteger(inFlight) || inFlight < 1 || inFlight > 10_000) {
        throw new RangeError(`Cannot import: --in-flight must be 1 to 10000`);
      }
    }
    if (values.timeout !== undefined) {
      replyTimeoutMs = Number(values.timeout) * 1000;
      if (!Number.isInteger(replyTimeoutMs) || replyTimeoutMs < 1000) {
        throw new RangeError(`Cannot import: --timeout must be a whole number of seconds >= 1`);
      }
    }
  } catch (err) {
    report({ level: "error", msg: err instanceof ConfigError ? err.message : errorText(err) });
    Deno.exit(2);
  }
  let shown = 0;
  try {
    const summary = await importEvents(config, lines(Deno.stdin.readable), {
      inFlight,
      replyTimeoutMs,
      onRefused(line, reason) {
        if (++shown <= 100) report({ level: "warn", msg: "event refused", line, reason });
      },
    });
    Deno.stdout.writeSync(encoder.encode(JSON.stringify(summary) + "\n"));
  } catch (err) {
    report({ level: "error", msg: errorText(err) });
    Deno.exit(1);
  }
}
