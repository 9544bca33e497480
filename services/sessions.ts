/**
 * Admin web sessions and login throttling, both in Redis.
 *
 * A session id is 32 random bytes (base64url) held only by the browser's cookie; Redis keeps its
 * sha256 under `admin_sessions:<hash>` (HASH: user, csrf, created) with a sliding TTL, so a dump
 * of Redis cannot be replayed as a cookie. Failed logins are counted per IP and per email in
 * fixed windows (`login_failures:ip:<ip>`, `login_failures:email:<sha256 of lower email>`).
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Redis } from "../lib/redis.ts";

/** A signed-in session. */
export interface Session {
  /** The cookie value (never stored as is). */
  id: string;
  userId: number;
  /** Per-session CSRF token forms and fetches must send back. */
  csrf: string;
  /** Unix seconds. */
  createdAt: number;
}

/** Sessions of the admin UI. */
export interface SessionStore {
  /** Starts a session for `userId`. */
  create(userId: number): Promise<Session>;
  /** The session for a cookie value, its TTL refreshed; null when unknown or expired. */
  get(id: string): Promise<Session | null>;
  /** Ends a session (logout). */
  destroy(id: string): Promise<void>;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function hash(s: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(s)));
}

/** Session keys under `prefix` (REDIS_PREFIX), with a sliding TTL (default 12 hours). */
export function createSessionStore(
  opts: { redis: Redis; prefix: string; ttlSeconds?: number },
): SessionStore {
  const { redis } = opts;
  const ttl = opts.ttlSeconds ?? 12 * 3600;
  const key = (id: string) => `${opts.prefix}admin_sessions:${hash(id)}`;
  return {
    async create(userId) {
      const session: Session = {
        id: randomToken(),
        userId,
        csrf: randomToken(),
        createdAt: Math.floor(Date.now() / 1000),
      };
      await redis.multi()
        .hset(key(session.id), {
          user: String(userId),
          csrf: session.csrf,
          created: String(session.createdAt),
        })
        .expire(key(session.id), ttl)
        .exec();
      return session;
    },
    async get(id) {
      if (!ID_PATTERN.test(id)) return null;
      const k = key(id);
      const [[, fields], [, live]] = (await redis.multi().hgetall(k).expire(k, ttl, "XX")
        .exec()) as [[unknown, Record<string, string>], [unknown, number]];
      if (!live || !fields.user || !fields.csrf) return null;
      return {
        id,
        userId: Number(fields.user),
        csrf: fields.csrf,
        createdAt: Number(fields.created),
      };
    },
    async destroy(id) {
      if (ID_PATTERN.test(id)) await redis.del(key(id));
    },
  };
}

/** The outcome of a throttle check. */
export interface LoginAllowance {
  allowed: boolean;
  /** Seconds until another attempt may succeed (0 when allowed). */
  retryAfter: number;
}

/** Failed-login counting per IP and per email. */
export interface LoginThrottle {
  /** Whether this IP and email may try to log in now. */
  check(ip: string, email: string): Promise<LoginAllowance>;
  /** Records a failed attempt. */
  failed(ip: string, email: string): Promise<void>;
  /** Clears the email's counter after a successful login (the IP's stays). */
  succeeded(email: string): Promise<void>;
}

/** At most `max` failed logins per IP and per email in `windowSeconds` (default 10 per 15 min). */
export function createLoginThrottle(
  opts: { redis: Redis; prefix: string; max?: number; windowSeconds?: number },
): LoginThrottle {
  const { redis } = opts;
  const max = opts.max ?? 10;
  const window = opts.windowSeconds ?? 900;
  const ipKey = (ip: string) => `${opts.prefix}login_failures:ip:${ip}`;
  const emailKey = (email: string) =>
    `${opts.prefix}login_failures:email:${hash(email.trim().toLowerCase())}`;
  return {
    async check(ip, email) {
      const replies = (await redis.multi()
        .get(ipKey(ip)).get(emailKey(email)).ttl(ipKey(ip)).ttl(emailKey(email))
        .exec()) ?? [];
      const [a, b, ta, tb] = replies.map(([err, v]) => {
        if (err) throw new Error(`Cannot read login failures: ${err.message}`);
        return v as string | number | null;
      });
      const over = [[a, ta], [b, tb]].filter(([n]) => Number(n ?? 0) >= max);
      if (!over.length) return { allowed: true, retryAfter: 0 };
      return {
        allowed: false,
        retryAfter: Math.max(1, ...over.map(([, t]) => Number(t ?? window))),
      };
    },
    async failed(ip, email) {
      await redis.multi()
        .incr(ipKey(ip)).expire(ipKey(ip), window, "NX")
        .incr(emailKey(email)).expire(emailKey(email), window, "NX")
        .exec();
    },
    async succeeded(email) {
      await redis.del(emailKey(email));
    },
  };
}
