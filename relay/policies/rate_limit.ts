/**
 * Per-IP rate limiting: a sliding window log in the ZSET `requests:<ip>`, one member per
 * accepted message (the original used the second as the member, so it counted distinct seconds
 * and its default limit could never trigger). One atomic Lua call per message trims the
 * window, counts, and records the message only when it is allowed: the ZSET never holds more
 * than the maximum, however hard a client pushes. Shared by every connection of the IP and
 * every web process. Skipped when the maximum is 0 or the IP is in `unlimited_ips`.
 *
 * When Redis cannot answer (down, or slower than `timeoutMs`) the limiter fails open: the
 * message is allowed and a warning logged once per outage, so a Redis outage never blocks
 * every client on top of what it already breaks.
 *
 * @module
 */
import type { RedisKeys } from "../../lib/contract.ts";
import { errorText, type Logger } from "../../lib/log.ts";
import type { Redis } from "../../lib/redis.ts";
import { withTimeout } from "../runtime.ts";
import { ACCEPT, type Verdict } from "./verdict.ts";

/** KEYS[1] the ZSET; ARGV now (ms), window (ms), maximum, unique member. 1 = allowed. */
export const RATE_LIMIT_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 1
`;

const COMMAND = "nostrRateLimit";

/** Checks one message from `ip`; never rejects. */
export type RateLimiter = (ip: string) => Promise<Verdict>;

/** What the limiter needs. */
export interface RateLimiterOptions {
  redis: Redis;
  keys: RedisKeys;
  /** Messages allowed per window and IP (> 0). */
  maxRequests: number;
  windowSeconds: number;
  /** Makes members unique across web processes (the node id). */
  memberPrefix: string;
  log: Logger;
  /** Clock in ms (tests inject one). */
  now?: () => number;
  /** Longest wait for Redis before failing open (default 1000 ms). */
  timeoutMs?: number;
}

/** The refusal text, the same for every command. */
export function rateLimitReason(maxRequests: number, windowSeconds: number): string {
  return `rate-limited: slow down, at most ${maxRequests} messages per ${windowSeconds} seconds`;
}

type ScriptRedis = Redis & {
  [COMMAND](key: string, now: number, window: number, max: number, member: string): Promise<number>;
};

/** Creates the limiter, defining its script on `redis` (EVALSHA, loaded on first use). */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { keys, maxRequests, log } = options;
  const redis = options.redis as ScriptRedis;
  if (typeof redis[COMMAND] !== "function") {
    redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: RATE_LIMIT_SCRIPT });
  }
  const now = options.now ?? Date.now;
  const windowMs = options.windowSeconds * 1000;
  const timeoutMs = options.timeoutMs ?? 1000;
  const refusal: Verdict = {
    ok: false,
    reason: rateLimitReason(maxRequests, options.windowSeconds),
  };
  let seq = 0;
  let failing = false;

  function failOpen(why: string): Verdict {
    if (!failing) {
      failing = true;
      log.warn("Cannot check rate limit, allowing messages until Redis answers", { error: why });
    }
    return ACCEPT;
  }

  return async function checkRateLimit(ip) {
    if (redis.status !== "ready") return failOpen(`Redis is ${redis.status}`);
    const member = `${options.memberPrefix}:${(seq++).toString(36)}`;
    let allowed: number;
    try {
      allowed = await withTimeout(
        redis[COMMAND](keys.rateLimit(ip), now(), windowMs, maxRequests, member),
        timeoutMs,
        "rate limit check",
      );
    } catch (err) {
      return failOpen(errorText(err));
    }
    if (failing) {
      failing = false;
      log.info("Rate limit checks work again");
    }
    return allowed === 1 ? ACCEPT : refusal;
  };
}
