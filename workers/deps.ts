/**
 * What every processor receives: its stores, names and settings, injected by workers/worker.ts
 * (and by the tests, which call processors directly).
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import type { RedisKeys } from "../lib/contract.ts";
import type { Sql } from "../lib/db.ts";
import type { Logger } from "../lib/log.ts";
import type { Redis } from "../lib/redis.ts";
import type { ModerationGate } from "./moderation.ts";
import type { StoreBatcher } from "./store_batch.ts";

/** Dependencies of a job processor. */
export interface ProcessorDeps {
  /** PostgreSQL pool. */
  sql: Sql;
  /** Redis connection used for PUBLISH and plain commands (never a subscriber). */
  redis: Redis;
  /** Redis key and channel names under the configured prefix. */
  keys: RedisKeys;
  config: Config;
  log: Logger;
  /** Current unix time in seconds; defaults to the system clock (tests inject one). */
  now?: () => number;
  /** Bound on storing one event; defaults to max(QUERY_TIMEOUT_MS, 5 s). */
  storeTimeoutMs?: number;
  /** Cached moderation check of EVENTs (workers/moderation.ts); none = no moderation check. */
  moderation?: ModerationGate;
  /** Group commit of NewEvent jobs; without one each event is stored in its own transaction. */
  storeBatcher?: StoreBatcher;
}

/** The part of a BullMQ job a processor reads, so tests can pass `{ data }`. */
export interface JobLike<T> {
  data: T;
  id?: string;
  name?: string;
}

/** Current unix time in seconds according to `deps`. */
export function unixNow(deps: Pick<ProcessorDeps, "now">): number {
  return deps.now ? deps.now() : Math.floor(Date.now() / 1000);
}

/** True when `err` is PostgreSQL's query_canceled (statement timeout). */
export function isQueryTimeout(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "57014";
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The `authed` list of a job as pubkeys: only lowercase 64-hex strings of an array are kept
 * (a queue payload is not trusted for types, and a string would pass `includes` by substring).
 */
export function authedPubkeys(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is string => typeof v === "string" && HEX64.test(v));
}

/** Rejection of `withDeadline` when its bound passes first. */
export class DeadlineError extends Error {
  constructor(what: string, readonly ms: number) {
    super(`Cannot ${what}: no answer from PostgreSQL within ${ms} ms`);
    this.name = "DeadlineError";
  }
}

/** Resolves with `p`, or rejects with DeadlineError("Cannot <what>: …") after `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(function deadlinePassed() {
      reject(new DeadlineError(what, ms));
    }, ms);
  });
  return Promise.race([p, deadline]).finally(function clearDeadline() {
    clearTimeout(timer);
  });
}
