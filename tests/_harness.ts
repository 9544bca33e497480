/**
 * End-to-end fixture: a fresh database and Redis prefix per relay, the real web process
 * (relay/server.ts) and the real BullMQ worker (workers/worker.ts) started in this test process.
 *
 * @module
 */
import { type Config, loadConfig } from "../lib/config.ts";
import { connectPostgres, ensureDatabase, migrate, readMigrations, type Sql } from "../lib/db.ts";
import { createLogger, type Level } from "../lib/log.ts";
import { connectRedis, type Redis } from "../lib/redis.ts";
import { type RedisKeys, redisKeys } from "../lib/contract.ts";
import { startWeb, type WebHandle } from "../relay/server.ts";
import { type AdminHandle, startAdmin } from "../routes/_app.ts";
import { startWorker, type WorkerHandle } from "../workers/worker.ts";

const PG_BASE = Deno.env.get("TEST_DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = Deno.env.get("TEST_REDIS_URL") ?? "redis://127.0.0.1:6379";
const LOG_LEVEL = (Deno.env.get("TEST_LOG_LEVEL") ?? "error") as Level;

/** A running relay with handles on its stores. */
export interface RelayFixture extends AsyncDisposable {
  url: string;
  httpUrl: string;
  config: Config;
  keys: RedisKeys;
  sql: Sql;
  redis: Redis;
  web: WebHandle;
  worker: WorkerHandle;
  /** The admin UI, when started with `{ admin: true }`. */
  admin?: AdminHandle;
  /** Stops the web process (e.g. to simulate a deploy) without touching the stores. */
  close(): Promise<void>;
}

function randomName(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 12);
}

/** A database URL with a fresh random database, created and migrated. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const u = new URL(PG_BASE);
  u.pathname = `/nostr_test_${randomName()}`;
  const url = u.toString();
  await ensureDatabase(url);
  const sql = connectPostgres(url, { max: 1 });
  try {
    await migrate(sql, await readMigrations(new URL("../migrations/", import.meta.url)));
  } finally {
    await sql.end();
  }
  return {
    url,
    async drop() {
      const admin = connectPostgres(PG_BASE, { max: 1 });
      try {
        await admin.unsafe(`drop database if exists "${u.pathname.slice(1)}" with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** Deletes every Redis key under `prefix`. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (found.length) await redis.unlink(...found);
  } while (cursor !== "0");
}

/**
 * Starts a relay (web + worker) on a random port with its own database and Redis prefix.
 * `env` overrides configuration variables by their environment names; `admin` also serves the
 * admin UI on `/admin` (as main.ts does).
 */
export async function startRelay(
  env: Record<string, string> = {},
  opts: { admin?: boolean } = {},
): Promise<RelayFixture> {
  const db = await freshDatabase();
  const prefix = `t${randomName()}:`;
  const config = loadConfig({
    DATABASE_URL: db.url,
    DATABASE_POOL: "4",
    REDIS_URL,
    REDIS_PREFIX: prefix,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL,
    WORKER_CONCURRENCY: "8",
    METRICS_PORT: "0",
    // Every test client comes from 127.0.0.1: tests that exercise the limiter turn it on.
    RATE_LIMITING_MAX_REQUESTS: "0",
    ...env,
  });
  const log = createLogger("test", config.logLevel);
  const worker = await startWorker({ config, log: log.child({ proc: "worker" }) });
  const admin = opts.admin
    ? await startAdmin({ config, log: log.child({ proc: "web" }) })
    : undefined;
  const web = await startWeb({ config, log: log.child({ proc: "web" }), admin: admin?.handler });
  const sql = connectPostgres(db.url, { max: 2 });
  const redis = connectRedis(REDIS_URL);
  let closed = false;
  const fixture: RelayFixture = {
    url: `ws://127.0.0.1:${web.port}`,
    httpUrl: `http://127.0.0.1:${web.port}`,
    config,
    keys: redisKeys(prefix),
    sql,
    redis,
    web,
    worker,
    admin,
    close: () => web.close(),
    async [Symbol.asyncDispose]() {
      if (closed) return;
      closed = true;
      await web.close().catch(() => {});
      await admin?.close();
      await worker.close();
      await sql.end();
      await deletePrefix(redis, prefix);
      redis.disconnect();
      await db.drop();
    },
  };
  return fixture;
}
