/**
 * The CountRequest processor (NIP-45): counts the stored events matching any filter (limits
 * ignored, each event once, expired ones excluded). With NIP_45_COUNT_COST_THRESHOLD > 0 the
 * query is EXPLAINed first and, when the planner's total cost exceeds the threshold, its row
 * estimate is answered with `approximate: true` instead of running the count.
 *
 * @module
 */
import { UnrecoverableError } from "bullmq";
import type { CountRequestJob } from "../lib/contract.ts";
import { errorText } from "../lib/log.ts";
import { isQueryTimeout, type JobLike, type ProcessorDeps } from "./deps.ts";
import { matchingIds } from "./query.ts";
import { inQueryTransaction, parseFilters, queryContext } from "./query_tx.ts";
import { publishReply } from "./replies.ts";

/** CLOSED reasons of a COUNT. */
export const COUNT_REASONS = {
  timeout: "error: query timed out, try a narrower filter",
  failed: "error: could not count events",
  invalid: "invalid: malformed filter",
} as const;

/** A COUNT answer. */
export interface CountResult {
  count: number;
  approximate: boolean;
}

interface PlanNode {
  "Total Cost": number;
  "Plan Rows": number;
}

/**
 * Processes one CountRequest job; returns what it answered.
 * @throws {UnrecoverableError} after answering `closed`, when the database failed
 */
export async function countRequest(
  job: JobLike<CountRequestJob>,
  deps: ProcessorDeps,
): Promise<CountResult> {
  const { cid, sid } = job.data;
  const filters = parseFilters(job.data.filters);
  if (!filters) {
    await publishReply(deps, cid, { op: "closed", sid, gen: 0, reason: COUNT_REASONS.invalid });
    return { count: 0, approximate: false };
  }
  const ids = matchingIds(deps.sql, filters, queryContext(deps, job.data.authed));
  let result: CountResult = { count: 0, approximate: false };
  if (ids) {
    const threshold = deps.config.countCostThreshold;
    try {
      result = await inQueryTransaction(
        deps.sql,
        deps.config.queryTimeoutMs,
        async function count(tx) {
          if (threshold > 0) {
            const [explained] = await tx`explain (format json) ${ids}`;
            const plan = (explained!["QUERY PLAN"] as { Plan: PlanNode }[])[0]!.Plan;
            if (plan["Total Cost"] > threshold) {
              return { count: Math.round(plan["Plan Rows"]), approximate: true };
            }
          }
          const [row] = await tx`select count(*) as count from (${ids}) as matching`;
          return { count: Number(row!.count), approximate: false };
        },
      );
    } catch (err) {
      const timeout = isQueryTimeout(err);
      deps.log[timeout ? "warn" : "error"]("Cannot run COUNT query", {
        cid,
        sid,
        filters: job.data.filters,
        error: errorText(err),
      });
      const reason = timeout ? COUNT_REASONS.timeout : COUNT_REASONS.failed;
      await publishReply(deps, cid, { op: "closed", sid, gen: 0, reason });
      if (timeout) return result;
      throw new UnrecoverableError(`Cannot run COUNT query: ${errorText(err)}`);
    }
  }
  const body = result.approximate
    ? { count: result.count, approximate: true }
    : { count: result.count };
  await publishReply(deps, cid, { op: "send" }, [JSON.stringify(["COUNT", sid, body])]);
  return result;
}
