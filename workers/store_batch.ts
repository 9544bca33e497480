/**
 * Group commit for NewEvent jobs: events the worker's concurrent jobs hand over at about the same
 * time are stored together by `storeEvents` (one transaction, one commit, the outcome of each as
 * if it were alone), and each job's promise settles once ITS batch committed, so an OK still
 * follows the commit of its event. An idle worker adds no latency: with no batch in flight an
 * event leaves on the next microtask. While batches are in flight, events wait up to `lingerMs`
 * for company (or until `maxBatch`), and when every slot is busy they wait for the next free one.
 *
 * @module
 */
import type { Sql } from "../lib/db.ts";
import type { NostrEvent } from "../lib/nostr/event.ts";
import {
  storeEvents,
  type StoreItem,
  type StoreOptions,
  type StoreOutcome,
  type StoreResult,
} from "./store_event.ts";

/** Stores one event, possibly together with others. */
export interface StoreBatcher {
  store(e: NostrEvent, opts: StoreOptions): Promise<StoreOutcome>;
  /** Resolves once nothing is pending or in flight. */
  drain(): Promise<void>;
  /** Batches committed and events they held, since start (for logs and tests). */
  readonly stats: { batches: number; events: number; largest: number };
}

/** Options of `createStoreBatcher`. */
export interface StoreBatcherOptions {
  /** Most events per transaction (default 100). */
  maxBatch?: number;
  /** Most transactions in flight at once, each on its own connection (default 4). */
  maxInFlight?: number;
  /** How long an event waits for company while other batches are in flight (default 1 ms). */
  lingerMs?: number;
  /** The batch writer (tests inject one); default `storeEvents`. */
  write?: (
    sql: Sql,
    items: StoreItem[],
    onFallback?: (err: unknown) => void,
  ) => Promise<StoreResult[]>;
  /** Told why a batch fell back to one transaction per event. */
  onFallback?: (err: unknown, events: number) => void;
  /**
   * How long a batch may hold its slot (default 10 s). Past it, its events are rejected and the
   * slot is freed: a transaction on a connection that died with PostgreSQL may never settle, and
   * a slot held forever would keep every later event from being stored after recovery.
   */
  timeoutMs?: number;
}

interface Pending extends StoreItem {
  resolve(outcome: StoreOutcome): void;
  reject(err: unknown): void;
}

/** Creates a batcher storing through `sql`. */
export function createStoreBatcher(sql: Sql, options: StoreBatcherOptions = {}): StoreBatcher {
  const maxBatch = options.maxBatch ?? 100;
  const maxInFlight = options.maxInFlight ?? 4;
  const lingerMs = options.lingerMs ?? 1;
  const write = options.write ?? storeEvents;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const stats = { batches: 0, events: 0, largest: 0 };
  let pending: Pending[] = [];
  let inFlight = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let scheduled = false;
  let idle: (() => void)[] = [];

  function settleIdle() {
    if (pending.length || inFlight) return;
    const waiters = idle;
    idle = [];
    for (const w of waiters) w();
  }

  function flush() {
    scheduled = false;
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    while (pending.length && inFlight < maxInFlight) {
      const batch = pending.length > maxBatch ? pending.splice(0, maxBatch) : pending;
      if (batch === pending) pending = [];
      inFlight++;
      stats.batches++;
      stats.events += batch.length;
      if (batch.length > stats.largest) stats.largest = batch.length;
      const fellBack = options.onFallback &&
        ((err: unknown) => options.onFallback!(err, batch.length));
      let done = false;
      const release = function next() {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        inFlight--;
        // whatever waited for this slot has waited long enough
        if (pending.length) flush();
        else settleIdle();
      };
      const deadline = setTimeout(function batchTimedOut() {
        const err = new Error(
          `Cannot store events: the batch got no answer within ${timeoutMs} ms`,
        );
        for (const p of batch) p.reject(err);
        release();
      }, timeoutMs);
      write(sql, batch, fellBack).then(
        function committed(results) {
          batch.forEach((p, i) => {
            const r = results[i];
            if (r?.ok) p.resolve(r.outcome);
            else p.reject(r ? r.error : new Error("Cannot store event: no result for it"));
          });
        },
        function failed(err: unknown) {
          for (const p of batch) p.reject(err);
        },
      ).finally(release);
    }
  }

  function schedule() {
    if (pending.length >= maxBatch || inFlight === 0) {
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(flush);
      }
      return;
    }
    if (inFlight < maxInFlight && timer === undefined) timer = setTimeout(flush, lingerMs);
  }

  return {
    stats,
    store(e, opts) {
      return new Promise<StoreOutcome>((resolve, reject) => {
        pending.push({ e, opts, resolve, reject });
        schedule();
      });
    },
    drain() {
      if (!pending.length && !inFlight) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
