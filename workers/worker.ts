/**
 * The worker process: one BullMQ Worker per queue of lib/contract.ts, the housekeeping job
 * schedulers, and the PostgreSQL pool and Redis publisher the processors share.
 *
 * @module
 */
import { Queue, Worker } from "bullmq";
import type { Config } from "../lib/config.ts";
import {
  type AuthorizeJob,
  JOBS,
  QUEUES,
  type RecomputeLevelsJob,
  type RedisKeys,
  redisKeys,
} from "../lib/contract.ts";
import { connectPostgres, type Sql } from "../lib/db.ts";
import { errorText, type Logger } from "../lib/log.ts";
import { initVerifier, verifierName } from "../lib/nostr/event.ts";
import { connectRedis, type Redis } from "../lib/redis.ts";
import { authorize } from "./authorize.ts";
import { countRequest } from "./count_request.ts";
import type { JobLike, ProcessorDeps } from "./deps.ts";
import { housekeeping } from "./housekeeping.ts";
import { type MetricsServer, serveMetrics, WorkerMetrics } from "./metrics.ts";
import { type ModerationGate, startModerationGate } from "./moderation.ts";
import { newEvent } from "./new_event.ts";
import { newSubscription } from "./new_subscription.ts";
import { recomputeLevels } from "./recompute_levels.ts";
import { createStoreBatcher } from "./store_batch.ts";

/** A running worker process. */
export interface WorkerHandle {
  /** Stops taking jobs, waits for the active ones, then closes Redis and PostgreSQL. */
  close(): Promise<void>;
}

/** How long start-up waits for PostgreSQL and Redis to answer. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** `url` with its password replaced by "***", for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(function connectTimeout() {
      reject(new Error(`no answer from ${what} within ${ms} ms`));
    }, ms);
  });
  return Promise.race([p, timeout]).finally(function clearConnectTimeout() {
    clearTimeout(timer);
  });
}

/** Logs a connection's errors, at most one line per 10 s (ioredis retries forever). */
function logRedisErrors(redis: Redis, log: Logger, name: string, url: string) {
  let last = 0;
  redis.on("error", function redisError(err: unknown) {
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    log.error("Redis connection error", {
      connection: name,
      url: redactUrl(url),
      error: errorText(err),
    });
  });
}

/** Fails (after logging what and where) unless PostgreSQL and Redis both answer within `ms`. */
async function checkStores(sql: Sql, redis: Redis, deps: WorkerDeps, ms: number) {
  const { config, log } = deps;
  try {
    await withTimeout(sql`select 1`, ms, "PostgreSQL");
  } catch (err) {
    const url = redactUrl(config.databaseUrl);
    log.error("Cannot connect to PostgreSQL", { url, error: errorText(err) });
    throw new Error(`Cannot start worker: PostgreSQL unreachable at ${url}: ${errorText(err)}`);
  }
  try {
    await withTimeout(redis.ping(), ms, "Redis");
  } catch (err) {
    const url = redactUrl(config.redisUrl);
    log.error("Cannot connect to Redis", { url, error: errorText(err) });
    throw new Error(`Cannot start worker: Redis unreachable at ${url}: ${errorText(err)}`);
  }
}

/** Creates or updates the repeatable housekeeping jobs (idempotent across workers). */
async function scheduleHousekeeping(config: Config, keys: RedisKeys) {
  const connection = connectRedis(config.redisUrl, { name: "worker-scheduler", forBullmq: true });
  const queue = new Queue(QUEUES.housekeeping, { connection, prefix: keys.bullPrefix });
  try {
    const opts = { removeOnComplete: true, removeOnFail: { count: 100 } };
    await queue.upsertJobScheduler(JOBS.purgeExpired, {
      every: config.expirationSweepSeconds * 1000,
    }, {
      name: JOBS.purgeExpired,
      data: {},
      opts,
    });
    await queue.upsertJobScheduler(JOBS.sweepConnections, {
      every: config.connectionSweepSeconds * 1000,
    }, {
      name: JOBS.sweepConnections,
      data: {},
      opts,
    });
    await queue.upsertJobScheduler(JOBS.sampleConnections, { every: 60_000 }, {
      name: JOBS.sampleConnections,
      data: {},
      opts,
    });
  } finally {
    await queue.close();
    await connection.quit();
  }
}

/** The auth queue's processor: Authorize and RecomputeLevels, by job name. */
async function authJob(job: JobLike<unknown>, deps: ProcessorDeps): Promise<unknown> {
  if (job.name === JOBS.authorize) return await authorize(job as JobLike<AuthorizeJob>, deps);
  if (job.name === JOBS.recomputeLevels) {
    return await recomputeLevels(job as JobLike<RecomputeLevelsJob>, deps);
  }
  throw new Error(`Cannot run auth job: unknown name "${job.name}"`);
}

/** What `startWorker` needs. */
export interface WorkerDeps {
  config: Config;
  log: Logger;
  /** How long start-up waits for each store; default CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
}

/**
 * Connects to PostgreSQL and Redis, starts one BullMQ Worker per queue and registers the
 * housekeeping schedulers.
 * @throws {Error} naming the store (URL without password) that cannot be reached
 */
export async function startWorker(deps: WorkerDeps): Promise<WorkerHandle> {
  const { config, log } = deps;
  const keys = redisKeys(config.redisPrefix);
  const sql = connectPostgres(config.databaseUrl, {
    max: config.databasePool,
    appName: "nostr-relay-worker",
  });
  const redis = connectRedis(config.redisUrl, { name: "worker-publisher" });
  logRedisErrors(redis, log, "publisher", config.redisUrl);
  const connections: Redis[] = [redis];
  async function closeStores(graceful: boolean) {
    await Promise.allSettled(connections.map(function closeRedis(c) {
      // QUIT waits for the connection: when Redis is unreachable, drop it instead.
      if (!graceful) return c.disconnect();
      return withTimeout(c.quit(), 2000, "Redis QUIT").catch(function dropConnection() {
        c.disconnect();
      });
    }));
    await sql.end({ timeout: graceful ? 5 : 0 });
  }
  let moderation: ModerationGate | undefined;
  try {
    await checkStores(sql, redis, deps, deps.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    // libsecp256k1 in WASM verifies faster than @noble/curves (falls back to it if not loaded)
    await initVerifier();
    await scheduleHousekeeping(config, keys);
    moderation = await startModerationGate({ sql, redis, keys, log });
  } catch (err) {
    await closeStores(false);
    throw err;
  }
  // Group commit: concurrent NewEvent jobs share transactions, at most half the pool at once.
  const storeBatcher = config.storeBatchSize > 1
    ? createStoreBatcher(sql, {
      maxBatch: config.storeBatchSize,
      maxInFlight: Math.max(1, Math.floor(config.databasePool / 2)),
      // a little past the job's own store deadline, which has answered the client by then
      timeoutMs: Math.max(config.queryTimeoutMs, 5000) + 1000,
      onFallback(err, events) {
        log.warn("Cannot store a batch of events together, storing them one by one", {
          events,
          error: errorText(err),
        });
      },
    })
    : undefined;
  // queue depth for /metrics, read through the publisher connection
  const depthQueues = Object.values(QUEUES).map((name) =>
    new Queue(name, { connection: redis, prefix: keys.bullPrefix })
  );
  const metrics = new WorkerMetrics(depthQueues);
  const processorDeps: ProcessorDeps = {
    sql,
    redis,
    keys,
    config,
    log,
    storeBatcher,
    moderation,
  };
  function startQueue<T>(
    queue: string,
    processor: (job: JobLike<T>, deps: ProcessorDeps) => Promise<unknown>,
    concurrency = config.workerConcurrency,
  ): Worker<T> {
    const connection = connectRedis(config.redisUrl, { name: `worker-${queue}`, forBullmq: true });
    logRedisErrors(connection, log, queue, config.redisUrl);
    connections.push(connection);
    const worker = new Worker<T>(queue, async function processJob(job) {
      const started = Date.now();
      let result: unknown = undefined;
      try {
        result = await processor(job, processorDeps);
        return result;
      } finally {
        const event = queue === QUEUES.event
          ? { json: (job.data as { event?: unknown }).event, result }
          : undefined;
        metrics.job(queue, job.timestamp, started, event);
      }
    }, {
      connection,
      prefix: keys.bullPrefix,
      concurrency,
      // a crashed worker's jobs are stalled (and run again) within about twice this
      lockDuration: config.workerLockDurationMs,
      stalledInterval: config.workerLockDurationMs,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 1000 },
    });
    worker.on("error", function workerError(err) {
      log.error("BullMQ worker error", { queue, error: errorText(err) });
    });
    worker.on("failed", function jobFailed(job, err) {
      const cid = (job?.data as { cid?: unknown } | undefined)?.cid;
      log.warn("job failed", {
        queue,
        job: job?.id,
        name: job?.name,
        cid: typeof cid === "string" ? cid : undefined,
        error: errorText(err),
      });
    });
    return worker;
  }
  const workers = [
    startQueue(QUEUES.event, newEvent, config.workerEventConcurrency),
    startQueue(QUEUES.req, newSubscription),
    startQueue(QUEUES.count, countRequest),
    startQueue(QUEUES.auth, authJob),
    startQueue(QUEUES.housekeeping, housekeeping),
  ];
  log.info("worker started", {
    queues: Object.values(QUEUES),
    concurrency: config.workerConcurrency,
    eventConcurrency: config.workerEventConcurrency,
    storeBatchSize: config.storeBatchSize,
    prefix: keys.bullPrefix,
    verifier: verifierName(),
  });
  let closing: Promise<void> | undefined;
  // Redis came back after a loss (maybe empty): register the housekeeping schedulers again.
  let redisLost = false;
  redis.on("close", function publisherClosed() {
    redisLost = true;
  });
  redis.on("ready", function publisherBack() {
    if (!redisLost || closing) return;
    redisLost = false;
    scheduleHousekeeping(config, keys).then(
      () => log.info("housekeeping schedulers registered again after a Redis reconnect"),
      (err: unknown) =>
        log.warn("Cannot register housekeeping schedulers after a Redis reconnect", {
          error: errorText(err),
        }),
    );
  });
  let metricsServer: MetricsServer | undefined;
  try {
    metricsServer = serveMetrics(metrics, {
      hostname: config.hostname,
      port: config.metricsPort,
      healthy: () => closing === undefined,
    });
    if (metricsServer) log.info("worker metrics listening", { port: metricsServer.port });
  } catch (err) {
    log.error("Cannot serve worker metrics", { port: config.metricsPort, error: errorText(err) });
  }
  return {
    close() {
      return closing ??= (async function closeWorker() {
        await Promise.all(workers.map((w) => w.close()));
        await metricsServer?.close();
        await Promise.allSettled(depthQueues.map((q) => q.close()));
        if (storeBatcher) log.info("event store batches", { ...storeBatcher.stats });
        await moderation?.close();
        await closeStores(true);
        log.info("worker stopped");
      })();
    },
  };
}
