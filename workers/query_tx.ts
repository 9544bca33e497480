/**
 * The transaction REQ and COUNT queries run in: a statement timeout (QUERY_TIMEOUT_MS) and
 * custom plans (the planner sees the actual ids, kinds and time bounds of each filter instead of
 * a generic plan cached for the prepared statement), both `set local`, so they end with it.
 *
 * @module
 */
import type { Sql } from "../lib/db.ts";
import type { Filter } from "../lib/nostr/filter.ts";
import { filterSchema } from "../lib/nostr/filter.ts";
import { authedPubkeys, type ProcessorDeps, unixNow } from "./deps.ts";
import type { QueryContext } from "./query.ts";

/**
 * Runs `fn` on a reserved connection inside a read transaction bounded by `timeoutMs`. The
 * setup is awaited before `fn` runs (postgres.js dispatches a query when it is first observed,
 * and a cursor is observed before pending promises are, so it could overtake the setup).
 */
export async function inQueryTransaction<T>(
  sql: Sql,
  timeoutMs: number,
  fn: (tx: Sql) => Promise<T>,
): Promise<T> {
  const tx = await sql.reserve();
  try {
    await Promise.all([
      tx`begin read only`.execute(),
      tx`select set_config('statement_timeout', ${String(timeoutMs)}, true),
        set_config('plan_cache_mode', 'force_custom_plan', true)`.execute(),
    ]);
    const result = await fn(tx);
    await tx`commit`;
    return result;
  } catch (err) {
    await tx`rollback`.catch(function alreadyClosed() {});
    throw err;
  } finally {
    tx.release();
  }
}

/**
 * The query context of a job from the processor's settings and clock and the job's `authed`
 * list (the pubkeys its connection authenticated, for DM privacy).
 */
export function queryContext(
  deps: Pick<ProcessorDeps, "config" | "now">,
  authed: unknown,
): QueryContext {
  const { config } = deps;
  return {
    now: unixNow(deps),
    defaultLimit: config.defaultLimit,
    maxLimit: config.maxLimit,
    searchLanguage: config.searchLanguage,
    dmAuthed: config.dmPrivacy ? authedPubkeys(authed) : null,
  };
}

/** Re-validates the filters of a job (the queue payload is not trusted for types). */
export function parseFilters(value: unknown): Filter[] | null {
  if (!Array.isArray(value)) return null;
  const out: Filter[] = [];
  for (const f of value) {
    const parsed = filterSchema.safeParse(f);
    if (!parsed.success) return null;
    out.push(parsed.data);
  }
  return out;
}
