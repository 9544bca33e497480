/**
 * What every service function receives: the stores, the Redis names and the configuration,
 * passed explicitly. The admin pages and the NIP-86 handler build one `ServiceDeps` and call
 * the plain async functions of `services/*.ts`; nothing else invents Redis keys or SQL for
 * admin work. Services import `lib/` and npm packages only (never `relay/` or `workers/`).
 *
 * @module
 */
import { Queue } from "bullmq";
import type { Config } from "../lib/config.ts";
import { QUEUES, type RedisKeys, redisKeys } from "../lib/contract.ts";
import { connectPostgres, type Sql } from "../lib/db.ts";
import { connectRedis, type Redis } from "../lib/redis.ts";

/** A queue of lib/contract.ts by its key in QUEUES (`event`, `auth`, `housekeeping`, …). */
export type QueueKey = keyof typeof QUEUES;

/** BullMQ queues (producer side) under the configured prefix, by key. */
export type ServiceQueues = Readonly<Record<QueueKey, Queue>>;

/** Dependencies of every service function. */
export interface ServiceDeps {
  /** PostgreSQL pool. */
  sql: Sql;
  /** A Redis connection for plain commands (never a subscriber). */
  redis: Redis;
  /** Redis key and channel names under the configured prefix. */
  keys: RedisKeys;
  config: Config;
  /**
   * Queues to enqueue jobs on and read counts from; when absent, a service opens the queue it
   * needs for the call and closes it afterwards.
   */
  queues?: ServiceQueues;
}

/** A refusal a caller can show to the user: bad input, unknown record, conflict. */
export class ServiceError extends Error {
  constructor(
    /** `invalid` (HTTP 400), `not_found` (404), `conflict` (409). */
    readonly code: "invalid" | "not_found" | "conflict",
    message: string,
  ) {
    super(message);
    this.name = "ServiceError";
  }
}

/** Opens one BullMQ Queue per queue of lib/contract.ts on `connection`; `close()` them all. */
export function openQueues(
  connection: Redis,
  keys: RedisKeys,
): ServiceQueues & { close(): Promise<void> } {
  const out: Record<string, Queue> = {};
  for (const [key, name] of Object.entries(QUEUES)) {
    out[key] = new Queue(name, { connection, prefix: keys.bullPrefix });
  }
  const queues = out as Record<QueueKey, Queue>;
  return {
    ...queues,
    async close() {
      await Promise.all(Object.values(queues).map((q) => q.close()));
    },
  };
}

/**
 * Runs `fn` with queue `key`: the one of `deps.queues`, or one opened for this call (on the
 * service's Redis connection) and closed afterwards.
 */
export async function withQueue<T>(
  deps: Pick<ServiceDeps, "redis" | "keys" | "queues">,
  key: QueueKey,
  fn: (queue: Queue) => Promise<T>,
): Promise<T> {
  if (deps.queues) return await fn(deps.queues[key]);
  const queue = new Queue(QUEUES[key], { connection: deps.redis, prefix: deps.keys.bullPrefix });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
  }
}

/** ServiceDeps with their own connections, for scripts and tests; `close()` releases them. */
export interface OwnedServiceDeps extends ServiceDeps, AsyncDisposable {
  queues: ServiceQueues;
  close(): Promise<void>;
}

/** Opens a PostgreSQL pool, a Redis connection and the queues for `config`. */
export function openServiceDeps(
  config: Config,
  options: { poolSize?: number; appName?: string } = {},
): OwnedServiceDeps {
  const sql = connectPostgres(config.databaseUrl, {
    max: options.poolSize ?? 4,
    appName: options.appName ?? "nostr-relay-services",
  });
  const redis = connectRedis(config.redisUrl, { name: options.appName ?? "nostr-relay-services" });
  const keys = redisKeys(config.redisPrefix);
  const queues = openQueues(redis, keys);
  let closing: Promise<void> | undefined;
  function close() {
    return closing ??= (async function closeServiceDeps() {
      await queues.close().catch(() => {});
      await sql.end({ timeout: 5 });
      await redis.quit().catch(() => redis.disconnect());
    })();
  }
  return { sql, redis, keys, config, queues, close, [Symbol.asyncDispose]: close };
}
