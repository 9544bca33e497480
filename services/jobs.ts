/**
 * BullMQ queues of lib/contract.ts for the admin: counts per queue, recent failures with their
 * error, retry one or all, discard one.
 *
 * @module
 */
import type { Job, Queue } from "bullmq";
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
  failed: number;
  delayed: number;
  completed: number;
  prioritized: number;
}

/** A failed job. */
export interface FailedJob {
  key: QueueKey;
  id: string;
  name: string;
  /** The error the job failed with. */
  failedReason: string;
  attemptsMade: number;
  /** When it was created and when it failed, ms since the epoch (null when unknown). */
  createdAt: number | null;
  failedAt: number | null;
  /** Its data as JSON, cut to 500 characters. */
  data: string;
}

const QUEUE_KEYS = Object.keys(QUEUES) as QueueKey[];

function queueKey(key: unknown, what: string): QueueKey {
  if (typeof key !== "string" || !QUEUE_KEYS.includes(key as QueueKey)) {
    throw new ServiceError(
      "invalid",
      `Cannot ${what}: ${JSON.stringify(key)} is not a queue (${QUEUE_KEYS.join(", ")})`,
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
          failed: c.failed ?? 0,
          delayed: c.delayed ?? 0,
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
    data = JSON.stringify(job.data) ?? "";
  } catch {
    data = "(unreadable)";
  }
  return {
    key,
    id: String(job.id),
    name: job.name,
    failedReason: job.failedReason ?? "",
    attemptsMade: job.attemptsMade,
    createdAt: job.timestamp ?? null,
    failedAt: job.finishedOn ?? null,
    data: data.length > 500 ? `${data.slice(0, 500)}…` : data,
  };
}

/**
 * The most recent failures (default 50, at most 500), newest first, of one queue or of all.
 */
export async function recentFailures(
  deps: ServiceDeps,
  options: { queue?: QueueKey; limit?: number } = {},
): Promise<FailedJob[]> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 50), 1), 500);
  const keys = options.queue ? [queueKey(options.queue, "list failures")] : QUEUE_KEYS;
  const lists = await Promise.all(
    keys.map((key) =>
      withQueue(deps, key, async function failedJobs(queue) {
        const jobs = (await queue.getFailed(0, limit - 1)) as Job[];
        return jobs.filter(Boolean).map((j) => failedOf(key, j));
      })
    ),
  );
  return lists.flat()
    .sort((a, b) => (b.failedAt ?? 0) - (a.failedAt ?? 0))
    .slice(0, limit);
}

async function failedJob(queue: Queue, id: string, what: string): Promise<Job> {
  if (typeof id !== "string" || !id) throw new ServiceError("invalid", `Cannot ${what}: no id`);
  const job = await queue.getJob(id);
  if (!job) throw new ServiceError("not_found", `Cannot ${what}: no job ${id} in ${queue.name}`);
  return job;
}

/**
 * Moves failed job `id` of `queue` back to waiting.
 * @throws {ServiceError} not_found; conflict when the job is not failed
 */
export async function retryJob(deps: ServiceDeps, queue: QueueKey, id: string): Promise<void> {
  const key = queueKey(queue, "retry job");
  await withQueue(deps, key, async function retryOne(q) {
    const job = await failedJob(q, id, "retry job");
    const state = await job.getState();
    if (state !== "failed") {
      throw new ServiceError("conflict", `Cannot retry job ${id}: it is ${state}, not failed`);
    }
    await job.retry("failed");
  });
}

/** Moves every failed job of `queue` (or of every queue) back to waiting; returns how many. */
export async function retryAllFailed(deps: ServiceDeps, queue?: QueueKey): Promise<number> {
  const keys = queue ? [queueKey(queue, "retry jobs")] : QUEUE_KEYS;
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

/** Removes job `id` of `queue` (a failed job is discarded for good). @throws {ServiceError} */
export async function discardJob(deps: ServiceDeps, queue: QueueKey, id: string): Promise<void> {
  const key = queueKey(queue, "discard job");
  await withQueue(deps, key, async function discardOne(q) {
    const job = await failedJob(q, id, "discard job");
    await job.remove();
  });
}
