/**
 * BullMQ queues of lib/contract.ts for the admin: counts per queue, recent failures with their
 * error, retry or discard one failed job or all of a queue.
 *
 * @module
 */
import type { Job } from "bullmq";
import { QUEUES } from "../lib/contract.ts";
import { type QueueKey, type ServiceDeps, ServiceError, withQueue } from "./deps.ts";

/** Job counts of one queue. */
export interface QueueCounts {
  /** Key in QUEUES (`event`, `req`, `count`, `auth`, `housekeeping`). */
  key: QueueKey;
  /** BullMQ queue name. */
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
  /** The error it failed with (BullMQ `failedReason`). */
  error: string;
  /** Attempts made. */
  attempts: number;
  /** When it was created and when it failed last, ms since the epoch (null when unknown). */
  createdAt: number | null;
  failedAt: number | null;
  /** Its data as JSON, cut to 300 characters. */
  data: string;
}

const QUEUE_KEYS = Object.keys(QUEUES) as QueueKey[];

function queueKey(key: unknown): QueueKey {
  if (typeof key !== "string" || !QUEUE_KEYS.includes(key as QueueKey)) {
    throw new ServiceError(
      "invalid",
      `Cannot use queue: ${JSON.stringify(key)} is not a queue (${QUEUE_KEYS.join(", ")})`,
    );
  }
  return key as QueueKey;
}

/** Counts of every queue, in the order of QUEUES. */
export async function queueCounts(deps: ServiceDeps): Promise<QueueCounts[]> {
  return await Promise.all(
    QUEUE_KEYS.map((key) =>
      withQueue(deps, key, async function countJobs(queue) {
        const c = await queue.getJobCounts(
          "waiting",
          "active",
          "failed",
          "delayed",
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
    ),
  );
}

function failedOf(key: QueueKey, job: Job): FailedJob {
  let data: string;
  try {
    data = JSON.stringify(job.data ?? null);
  } catch {
    data = "(unreadable)";
  }
  return {
    queue: key,
    id: String(job.id),
    name: job.name,
    error: job.failedReason ?? "",
    attempts: job.attemptsMade,
    createdAt: job.timestamp ?? null,
    failedAt: job.finishedOn ?? job.processedOn ?? job.timestamp ?? null,
    data: data.length > 300 ? `${data.slice(0, 300)}…` : data,
  };
}

/** The most recent failures (default 50, at most 500) of one queue or of all, newest first. */
export async function recentFailures(
  deps: ServiceDeps,
  options: { queue?: string; limit?: number } = {},
): Promise<FailedJob[]> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 50), 1), 500);
  const keys = options.queue ? [queueKey(options.queue)] : QUEUE_KEYS;
  const lists = await Promise.all(
    keys.map((key) =>
      withQueue(deps, key, async function failedJobs(queue) {
        const jobs = (await queue.getFailed(0, limit - 1)) as Job[];
        return jobs.filter((j) => j?.id).map((j) => failedOf(key, j));
      })
    ),
  );
  return lists.flat()
    .sort((a, b) => (b.failedAt ?? 0) - (a.failedAt ?? 0))
    .slice(0, limit);
}

/** Runs `fn` on failed job `id` of queue `key`. @throws {ServiceError} not_found, conflict */
async function onFailedJob(
  deps: ServiceDeps,
  key: QueueKey,
  id: unknown,
  what: string,
  fn: (job: Job) => Promise<void>,
): Promise<void> {
  if (typeof id !== "string" || !id) throw new ServiceError("invalid", `Cannot ${what}: no id`);
  await withQueue(deps, key, async function failedJob(queue) {
    const job = await queue.getJob(id);
    if (!job) throw new ServiceError("not_found", `Cannot ${what}: no job ${id} in ${QUEUES[key]}`);
    if (!(await job.isFailed())) {
      throw new ServiceError("conflict", `Cannot ${what}: job ${id} has not failed`);
    }
    await fn(job);
  });
}

/** Moves failed job `id` of `queue` back to waiting. @throws {ServiceError} */
export async function retryJob(deps: ServiceDeps, queue: string, id: string): Promise<void> {
  const key = queueKey(queue);
  await onFailedJob(deps, key, id, "retry job", (job) => job.retry("failed"));
}

/** Removes failed job `id` of `queue` for good. @throws {ServiceError} */
export async function discardJob(deps: ServiceDeps, queue: string, id: string): Promise<void> {
  const key = queueKey(queue);
  await onFailedJob(deps, key, id, "discard job", (job) => job.remove());
}

/** Moves every failed job of `queue` (or of every queue) back to waiting; returns how many. */
export async function retryAllFailed(deps: ServiceDeps, queue?: string): Promise<number> {
  const keys = queue ? [queueKey(queue)] : QUEUE_KEYS;
  let total = 0;
  for (const key of keys) {
    total += await withQueue(deps, key, async function retryAll(q) {
      const n = await q.getFailedCount();
      if (n) await q.retryJobs({ state: "failed", count: 1000 });
      return n;
    });
  }
  return total;
}

/** Removes every failed job of `queue` (or of every queue); returns how many. */
export async function discardAllFailed(deps: ServiceDeps, queue?: string): Promise<number> {
  const keys = queue ? [queueKey(queue)] : QUEUE_KEYS;
  let total = 0;
  for (const key of keys) {
    total += await withQueue(deps, key, async function discardAll(q) {
      return (await q.clean(0, 100_000, "failed")).length;
    });
  }
  return total;
}
