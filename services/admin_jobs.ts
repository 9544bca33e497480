/**
 * BullMQ queues for the admin Jobs page: per-queue counts, recent failures with their error,
 * retry or discard one failed job, or all of a queue's failed jobs.
 *
 * Written by the admin UI while services/ had no jobs module; the service layer's owner may fold
 * it into a jobs.ts of their own.
 *
 * @module
 */
import { QUEUES } from "../lib/contract.ts";
import { type QueueKey, type ServiceDeps, ServiceError, withQueue } from "./deps.ts";

/** Job counts of one queue. */
export interface QueueCounts {
  key: QueueKey;
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  /** Waiting jobs with a priority (BullMQ keeps them apart from `waiting`). */
  prioritized: number;
}

/** A failed job as the admin sees it. */
export interface FailedJob {
  queue: QueueKey;
  id: string;
  name: string;
  /** The error it failed with. */
  error: string;
  attempts: number;
  /** When it failed last (ms), or null. */
  failedAt: number | null;
  /** Its payload as JSON, cut to 300 characters. */
  data: string;
}

const KEYS = Object.keys(QUEUES) as QueueKey[];

function queueKey(input: string): QueueKey {
  if (!(KEYS as string[]).includes(input)) {
    throw new ServiceError("invalid", `Cannot use queue: ${JSON.stringify(input)} is not a queue`);
  }
  return input as QueueKey;
}

/** Counts of every queue of lib/contract.ts. */
export async function queueCounts(deps: ServiceDeps): Promise<QueueCounts[]> {
  return await Promise.all(KEYS.map((key) =>
    withQueue(deps, key, async function countJobs(queue) {
      const c = await queue.getJobCounts(
        "waiting",
        "active",
        "delayed",
        "failed",
        "completed",
        "prioritized",
      );
      return {
        key,
        name: QUEUES[key],
        waiting: c.waiting ?? 0,
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
        failed: c.failed ?? 0,
        completed: c.completed ?? 0,
        prioritized: c.prioritized ?? 0,
      };
    })
  ));
}

/** The newest failed jobs of every queue (or of `queue`), newest first, `limit` in all. */
export async function recentFailures(
  deps: ServiceDeps,
  options: { queue?: string; limit?: number } = {},
): Promise<FailedJob[]> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 25), 1), 200);
  const keys = options.queue ? [queueKey(options.queue)] : KEYS;
  const lists = await Promise.all(
    keys.map((key) =>
      withQueue(deps, key, async function failedJobs(queue) {
        const jobs = await queue.getFailed(0, limit - 1);
        return jobs.filter((j) => j?.id).map((j): FailedJob => ({
          queue: key,
          id: j.id!,
          name: j.name,
          error: j.failedReason ?? "",
          attempts: j.attemptsMade,
          failedAt: j.finishedOn ?? j.processedOn ?? j.timestamp ?? null,
          data: JSON.stringify(j.data ?? null).slice(0, 300),
        }));
      })
    ),
  );
  return lists.flat().sort((a, b) => (b.failedAt ?? 0) - (a.failedAt ?? 0)).slice(0, limit);
}

async function failedJob(deps: ServiceDeps, key: QueueKey, id: string, what: string) {
  return await withQueue(deps, key, async function findJob(queue) {
    const job = await queue.getJob(id);
    if (!job) throw new ServiceError("not_found", `Cannot ${what}: no job ${id} in ${QUEUES[key]}`);
    if (!(await job.isFailed())) {
      throw new ServiceError("conflict", `Cannot ${what}: job ${id} has not failed`);
    }
    return job;
  });
}

/** Moves failed job `id` of `queue` back to waiting. */
export async function retryJob(deps: ServiceDeps, queue: string, id: string): Promise<void> {
  const key = queueKey(queue);
  const job = await failedJob(deps, key, String(id), "retry job");
  await job.retry("failed");
}

/** Removes failed job `id` of `queue`. */
export async function discardJob(deps: ServiceDeps, queue: string, id: string): Promise<void> {
  const key = queueKey(queue);
  const job = await failedJob(deps, key, String(id), "discard job");
  await job.remove();
}

/** Retries every failed job of `queue`; returns how many there were. */
export async function retryAllFailed(deps: ServiceDeps, queue: string): Promise<number> {
  const key = queueKey(queue);
  return await withQueue(deps, key, async function retryAll(q) {
    const n = await q.getFailedCount();
    if (n) await q.retryJobs({ state: "failed", count: 1000 });
    return n;
  });
}

/** Removes every failed job of `queue`; returns how many were removed. */
export async function discardAllFailed(deps: ServiceDeps, queue: string): Promise<number> {
  const key = queueKey(queue);
  return await withQueue(deps, key, async function discardAll(q) {
    const removed = await q.clean(0, 100_000, "failed");
    return removed.length;
  });
}
