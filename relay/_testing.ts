/**
 * Test helpers for the web process (folder-private): a web process on a random port and a
 * random Redis prefix, a websocket client with an awaitable inbox, a BullMQ consumer standing
 * in for the worker, and condition polling with a deadline (never a bare sleep).
 *
 * @module
 */
import { type Job, Worker } from "bullmq";
import { type Config, loadConfig } from "../lib/config.ts";
import {
  type AuthorizeJob,
  encodeReply,
  JOBS,
  QUEUES,
  type RedisKeys,
  redisKeys,
} from "../lib/contract.ts";
import { type NostrEvent, verifySignature } from "../lib/nostr/event.ts";
import { createLogger } from "../lib/log.ts";
import { connectRedis, type Redis } from "../lib/redis.ts";
import { randomHex } from "./runtime.ts";
import { startWeb, type WebHandle } from "./server.ts";

/** Default wait for any expected message or state. */
export const WAIT_MS = 5000;

/** Polls `check` every 10 ms until it is truthy; fails after `ms` naming `what`. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  ms = WAIT_MS,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  while (true) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Cannot wait any longer for ${what} (${ms} ms)`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A database URL for tests that query no table (NIP-50 live matching): the configured server's
 * `postgres` maintenance database, which always exists.
 */
export function scratchDatabaseUrl(): string {
  const url = new URL(loadConfig().databaseUrl);
  url.pathname = "/postgres";
  return url.toString();
}

/** Sends a REQ that needs no worker (limit 0) and expects its EOSE: the connection works. */
export async function assertWorks(client: TestClient, sid = "alive"): Promise<void> {
  client.send(["REQ", sid, { kinds: [10002], limit: 0 }]);
  const frame = await client.next();
  if (frame[0] !== "EOSE" || frame[1] !== sid) {
    throw new Error(`Cannot confirm the connection works: got ${JSON.stringify(frame)}`);
  }
}

/** A websocket client whose incoming frames can be awaited one by one. */
export class TestClient {
  readonly inbox: unknown[][] = [];
  readonly closed: Promise<CloseEvent>;
  #wake: (() => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (ev) => {
      this.inbox.push(JSON.parse(ev.data));
      this.#wake?.();
    };
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (ev) => {
        resolve(ev);
        this.#wake?.();
      });
    });
  }

  /** Opens a connection to `url`, with extra handshake `headers` (e.g. x-forwarded-for). */
  static async connect(url: string, headers?: Record<string, string>): Promise<TestClient> {
    // Deno accepts handshake headers as a second argument (not in the DOM typings)
    const ws = headers
      ? new WebSocket(url, { headers } as unknown as string[])
      : new WebSocket(url);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Cannot connect to ${url}: timeout`)),
        WAIT_MS,
      );
      ws.onopen = (ev) => {
        clearTimeout(timer);
        resolve(ev);
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`Cannot connect to ${url}`));
      };
    });
    return new TestClient(ws);
  }

  /** Sends a frame (arrays are JSON-encoded). */
  send(frame: unknown[] | string): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame received. */
  async next(ms = WAIT_MS): Promise<unknown[]> {
    const deadline = Date.now() + ms;
    while (!this.inbox.length) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error("Cannot read: socket closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Cannot read: no frame within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.inbox.shift()!;
  }

  /** Closes the socket and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }
}

/** A BullMQ consumer that hands each job of one queue to the test. */
export class JobTap<T> {
  readonly #jobs: Job<T>[] = [];
  readonly #worker: Worker<T>;
  readonly #conn: Redis;

  constructor(queue: string, config: Config, keys: RedisKeys) {
    this.#conn = connectRedis(config.redisUrl, { forBullmq: true });
    this.#worker = new Worker<T>(queue, (job) => {
      this.#jobs.push(job);
      return Promise.resolve();
    }, { connection: this.#conn, prefix: keys.bullPrefix });
  }

  /** The next job taken from the queue. */
  next(ms = WAIT_MS): Promise<Job<T>> {
    return waitFor("a job", () => this.#jobs.shift(), ms);
  }

  /** Stops consuming. */
  async close(): Promise<void> {
    await this.#worker.close();
    await this.#conn.quit();
  }
}

/**
 * Stands in for the worker's Authorize job: verifies the signature, answers `auth` with the
 * level set for the pubkey (default 1), and records every job it answered.
 */
export class AuthWorker {
  readonly #conn: Redis;
  readonly #worker: Worker<AuthorizeJob>;
  /** Level per pubkey; missing = 1. */
  readonly levels = new Map<string, number>();
  /** Jobs answered, in order. */
  readonly jobs: AuthorizeJob[] = [];
  /** While set, jobs are taken but not answered (a worker that is too slow). */
  silent = false;

  constructor(readonly relay: Pick<TestRelay, "config" | "keys" | "redis">) {
    const { config, keys } = relay;
    this.#conn = connectRedis(config.redisUrl, { forBullmq: true });
    this.#worker = new Worker<AuthorizeJob>(QUEUES.auth, async (job) => {
      if (job.name !== JOBS.authorize) return;
      this.jobs.push(job.data);
      if (!this.silent) await this.answer(job.data);
    }, { connection: this.#conn, prefix: keys.bullPrefix });
  }

  /** Answers an Authorize job as the worker does (signature check, then the level). */
  async answer(job: AuthorizeJob, level?: number): Promise<void> {
    const event = JSON.parse(job.event) as NostrEvent;
    const ok = verifySignature(event);
    await this.relay.redis.publish(
      this.relay.keys.connectionChannel(job.cid),
      encodeReply({
        op: "auth",
        eventId: event.id,
        pubkey: event.pubkey,
        ok,
        level: ok ? level ?? this.levels.get(event.pubkey) ?? 1 : 0,
        reason: ok ? "" : "invalid: signature does not match",
      }),
    );
  }

  #read = 0;

  /** The next job taken (answered or not) that no earlier `next` returned. */
  async next(ms = WAIT_MS): Promise<AuthorizeJob> {
    const job = await waitFor("an Authorize job", () => this.jobs[this.#read], ms);
    this.#read++;
    return job;
  }

  /** Publishes a `level` reply for `pubkey` to `cid`, as RecomputeLevels does. */
  async setLevel(cid: string, pubkey: string, level: number): Promise<void> {
    this.levels.set(pubkey, level);
    await this.relay.redis.publish(
      this.relay.keys.connectionChannel(cid),
      encodeReply({ op: "level", pubkey, level }),
    );
  }

  /** Stops answering. */
  async close(): Promise<void> {
    await this.#worker.close();
    await this.#conn.quit();
  }
}

/** A client connected to a test relay. */
export interface Connected {
  client: TestClient;
  cid: string;
  /** The NIP-42 challenge the relay sent first ("" when none is sent: forced fast auth). */
  challenge: string;
}

/** A running web process on a fresh Redis prefix, plus a Redis connection for the test. */
export interface TestRelay {
  web: WebHandle;
  config: Config;
  keys: RedisKeys;
  redis: Redis;
  url: string;
  /**
   * Opens a client (to `url`, default the relay), waits until the relay recorded it and, unless
   * `challenge` is false, reads the challenge it sends first.
   */
  connect(
    options?: { url?: string; challenge?: boolean; headers?: Record<string, string> },
  ): Promise<Connected>;
  /** Closes the web process and deletes every key under the prefix. */
  stop(): Promise<void>;
}

/**
 * Starts a web process for a test file; `env` overrides settings. The rate limit is off unless
 * `env` sets it: every test client comes from 127.0.0.1.
 */
export async function startTestRelay(env: Record<string, string> = {}): Promise<TestRelay> {
  const prefix = `test${randomHex(8)}.`;
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    REDIS_PREFIX: prefix,
    RATE_LIMITING_MAX_REQUESTS: "0",
    ...env,
  });
  const keys = redisKeys(prefix);
  const web = await startWeb({ config, log: createLogger("web", "warn") });
  const redis = connectRedis(config.redisUrl);
  const url = `ws://127.0.0.1:${web.port}`;
  let stopped = false;
  return {
    web,
    config,
    keys,
    redis,
    url,
    async connect(options = {}) {
      const before = new Set(await redis.smembers(keys.connections));
      const client = await TestClient.connect(options.url ?? url, options.headers);
      const cid = await waitFor("the connection in Redis", async () => {
        return (await redis.smembers(keys.connections)).find((c) => !before.has(c));
      });
      let challenge = "";
      if (options.challenge ?? true) {
        const frame = await client.next();
        if (frame[0] !== "AUTH" || typeof frame[1] !== "string") {
          throw new Error(`Cannot read the challenge: got ${JSON.stringify(frame)}`);
        }
        challenge = frame[1];
      }
      return { client, cid, challenge };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await web.close();
      const found = await redis.keys(`${prefix}*`);
      if (found.length) await redis.del(...found);
      await redis.quit();
    },
  };
}
