/**
 * Micro-batched job submission. Jobs pushed while no `addBulk` is in flight go out on the next
 * microtask (an idle relay adds no latency); jobs pushed while one is in flight wait for it and
 * leave together, so a loaded relay sends few, large round trips instead of one per message.
 *
 * @module
 */
import type { JobsOptions } from "bullmq";

/** The part of a BullMQ Queue the batcher uses. */
export interface BulkQueue<T> {
  addBulk(jobs: { name: string; data: T; opts?: JobsOptions }[]): Promise<unknown>;
}

/** Submits jobs of one name to one queue. */
export interface JobBatcher<T> {
  /** Resolves once the job is in Redis; rejects when it could not be queued. */
  push(data: T): Promise<void>;
  /** Resolves when nothing is pending or in flight. */
  drain(): Promise<void>;
}

/** Options of `createBatcher`. */
export interface BatcherOptions {
  /** False while the Redis connection is down: pushes fail at once instead of piling up. */
  ready(): boolean;
  /** Most jobs per addBulk (default 500). */
  maxBatch?: number;
  /** Most addBulk calls in flight at once (default 2). */
  maxInFlight?: number;
  /** Options of every job. */
  jobOptions?: JobsOptions;
}

/** Job options of relay jobs: nothing kept on success, the last 1000 failures kept. */
export const JOB_OPTIONS: JobsOptions = { removeOnComplete: true, removeOnFail: 1000 };

interface Pending<T> {
  data: T;
  resolve(): void;
  reject(err: unknown): void;
}

/** Creates a batcher submitting `name` jobs to `queue`. */
export function createBatcher<T>(
  queue: BulkQueue<T>,
  name: string,
  options: BatcherOptions,
): JobBatcher<T> {
  const maxBatch = options.maxBatch ?? 500;
  const maxInFlight = options.maxInFlight ?? 2;
  const opts = options.jobOptions ?? JOB_OPTIONS;
  let pending: Pending<T>[] = [];
  let inFlight = 0;
  let scheduled = false;
  let idle: (() => void)[] = [];

  function settle() {
    if (pending.length || inFlight) return;
    const waiters = idle;
    idle = [];
    for (const w of waiters) w();
  }

  function flush() {
    scheduled = false;
    if (!pending.length || inFlight >= maxInFlight) return;
    const batch = pending.length > maxBatch ? pending.splice(0, maxBatch) : pending;
    if (batch === pending) pending = [];
    inFlight++;
    queue.addBulk(batch.map((p) => ({ name, data: p.data, opts }))).then(
      function added() {
        for (const p of batch) p.resolve();
      },
      function failed(err: unknown) {
        for (const p of batch) p.reject(err);
      },
    ).finally(function next() {
      inFlight--;
      if (pending.length) flush();
      else settle();
    });
  }

  return {
    push(data) {
      if (!options.ready()) {
        return Promise.reject(new Error("Cannot queue job: Redis is not connected"));
      }
      return new Promise<void>((resolve, reject) => {
        pending.push({ data, resolve, reject });
        if (pending.length >= maxBatch) flush();
        else if (!scheduled && inFlight === 0) {
          scheduled = true;
          queueMicrotask(flush);
        }
      });
    },
    drain() {
      if (!pending.length && !inFlight) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
