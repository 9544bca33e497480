/**
 * Small pieces of process plumbing used by the web process: random ids, timeouts, and Redis
 * connection error logging.
 *
 * @module
 */
import { errorText, type Logger } from "../lib/log.ts";
import type { Redis } from "../lib/redis.ts";

/** `chars` random lowercase hex characters. */
export function randomHex(chars: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(chars / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, chars);
}

/** `p`, or a rejection naming `what` once `ms` have passed. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Logs a Redis connection's errors once per outage instead of once per retry. */
export function watchRedis(redis: Redis, name: string, log: Logger): void {
  let last = "";
  redis.on("error", function redisError(err: Error) {
    if (err.message === last) return;
    last = err.message;
    log.warn("Redis connection error", { connection: name, error: errorText(err) });
  });
  redis.on("ready", function redisReady() {
    if (last) log.info("Redis connection restored", { connection: name });
    last = "";
  });
}
