/**
 * The NewSubscription processor: runs the REQ query and publishes the stored events to the
 * connection in batches, the last one flagged `eose` (an empty result is a single eose message).
 * A query that times out or fails answers `closed` with an `error:` reason instead.
 *
 * @module
 */
import { UnrecoverableError } from "bullmq";
import type { NewSubscriptionJob } from "../lib/contract.ts";
import { errorText } from "../lib/log.ts";
import { isQueryTimeout, type JobLike, type ProcessorDeps } from "./deps.ts";
import { selectEvents } from "./query.ts";
import { inQueryTransaction, parseFilters, queryContext } from "./query_tx.ts";
import { publishReply } from "./replies.ts";

/** Most event lines in one published message. */
export const BATCH_LINES = 200;

/** CLOSED reasons. */
export const REQ_REASONS = {
  timeout: "error: query timed out, try a narrower filter",
  failed: "error: could not run the query",
  invalid: "invalid: malformed filter",
} as const;

/**
 * Processes one NewSubscription job; returns the number of stored events sent.
 * @throws {UnrecoverableError} after answering `closed`, when the database failed
 */
export async function newSubscription(
  job: JobLike<NewSubscriptionJob>,
  deps: ProcessorDeps,
): Promise<number> {
  const { cid, sid, gen } = job.data;
  const filters = parseFilters(job.data.filters);
  if (!filters) {
    await publishReply(deps, cid, { op: "closed", sid, gen, reason: REQ_REASONS.invalid });
    return 0;
  }
  const ctx = queryContext(deps, job.data.authed);
  const query = selectEvents(deps.sql, filters, ctx);
  if (!query) {
    await publishReply(deps, cid, { op: "events", sid, gen, eose: true });
    return 0;
  }
  const publishes: Promise<void>[] = [];
  let held: string[] = [];
  let sent = 0;
  try {
    await inQueryTransaction(deps.sql, deps.config.queryTimeoutMs, async function stream(tx) {
      // The batch just read is held back until the next one arrives (or the query ends), so
      // the last batch can carry eose.
      for await (const rows of tx<{ raw: string }[]>`${query}`.cursor(BATCH_LINES)) {
        if (held.length) {
          publishes.push(publishReply(deps, cid, { op: "events", sid, gen, eose: false }, held));
        }
        held = rows.map((r) => r.raw);
        sent += held.length;
      }
    });
  } catch (err) {
    await Promise.allSettled(publishes);
    const timeout = isQueryTimeout(err);
    const reason = timeout ? REQ_REASONS.timeout : REQ_REASONS.failed;
    deps.log[timeout ? "warn" : "error"]("Cannot run REQ query", {
      cid,
      sid,
      filters: job.data.filters,
      error: errorText(err),
    });
    await publishReply(deps, cid, { op: "closed", sid, gen, reason });
    if (timeout) return 0;
    throw new UnrecoverableError(`Cannot run REQ query: ${errorText(err)}`);
  }
  await Promise.all(publishes);
  await publishReply(deps, cid, { op: "events", sid, gen, eose: true }, held);
  return sent;
}
