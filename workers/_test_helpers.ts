/**
 * Shared fixture of the worker tests: a fresh database and Redis prefix per test file, a reply
 * collector subscribed to every channel under the prefix, and signed-event factories.
 *
 * @module
 */
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { type Config, loadConfig } from "../lib/config.ts";
import { decodeReply, NODE_ID_LENGTH, type RedisKeys, redisKeys } from "../lib/contract.ts";
import { connectPostgres, ensureDatabase, migrate, readMigrations, type Sql } from "../lib/db.ts";
import { createLogger } from "../lib/log.ts";
import { canonicalJson, computeId, type NostrEvent } from "../lib/nostr/event.ts";
import { connectRedis, type Redis } from "../lib/redis.ts";
import type { ProcessorDeps } from "./deps.ts";
import { newEvent } from "./new_event.ts";

/** Collects every message published under a Redis prefix, per channel, in arrival order. */
export class ReplyCollector {
  #queues = new Map<string, string[]>();
  #waiters = new Map<string, ((message: string) => void)[]>();
  #sub: Redis;

  private constructor(sub: Redis) {
    this.#sub = sub;
    sub.on("pmessage", (_pattern: string, channel: string, message: string) => {
      const waiter = this.#waiters.get(channel)?.shift();
      if (waiter) waiter(message);
      else this.#queue(channel).push(message);
    });
  }

  /** Subscribes a dedicated connection to every channel under `prefix`. */
  static async open(url: string, prefix: string): Promise<ReplyCollector> {
    const sub = connectRedis(url, { name: "worker-test-sub" });
    await sub.psubscribe(`${prefix}*`);
    return new ReplyCollector(sub);
  }

  #queue(channel: string): string[] {
    let q = this.#queues.get(channel);
    if (!q) this.#queues.set(channel, q = []);
    return q;
  }

  /** The next message on `channel`; rejects when none arrives within `timeoutMs`. */
  next(channel: string, timeoutMs = 5000): Promise<string> {
    const queued = this.#queue(channel).shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiters = this.#waiters.get(channel) ?? [];
      this.#waiters.set(channel, waiters);
      const timer = setTimeout(function replyTimeout() {
        waiters.splice(waiters.indexOf(deliver), 1);
        reject(new Error(`Cannot read reply: nothing on ${channel} within ${timeoutMs} ms`));
      }, timeoutMs);
      function deliver(message: string) {
        clearTimeout(timer);
        resolve(message);
      }
      waiters.push(deliver);
    });
  }

  /** Messages already received on `channel` and not yet read. */
  pending(channel: string): number {
    return this.#queue(channel).length;
  }

  /** Forgets the messages received on `channel` so far. */
  drain(channel: string): void {
    this.#queue(channel).length = 0;
  }

  /**
   * Asserts that nothing is left on `channel`: publishes a marker through `redis` (after the
   * publishes being checked, so Redis delivers it after them) and expects it to come next.
   */
  async expectNothingMore(redis: Redis, channel: string): Promise<void> {
    const marker = `marker-${randomHex(16)}`;
    await redis.publish(channel, marker);
    const next = await this.next(channel);
    if (next !== marker) throw new Error(`Cannot confirm silence on ${channel}: got ${next}`);
  }

  /** The next OK reply on `channel` as [accepted, message]. */
  async ok(channel: string): Promise<[boolean, string]> {
    const msg = wireMessage(await this.next(channel));
    if (msg[0] !== "OK") throw new Error(`Cannot read OK: got ${JSON.stringify(msg)}`);
    return [msg[2] as boolean, msg[3] as string];
  }

  /** Unsubscribes and closes the connection. */
  async close(): Promise<void> {
    await this.#sub.quit();
  }
}

/** A random lowercase hex string of `n` characters. */
export function randomHex(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(n / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, n);
}

/** A connection id under web node `node` (random by default). */
export function newCid(node = randomHex(NODE_ID_LENGTH)): string {
  return node + randomHex(24);
}

/** What a test receives. */
export interface WorkerFixture {
  config: Config;
  keys: RedisKeys;
  prefix: string;
  sql: Sql;
  redis: Redis;
  deps: ProcessorDeps;
  replies: ReplyCollector;
  /** Runs NewEvent for `e` and returns its OK reply as [accepted, message]. */
  publish(e: NostrEvent, options?: PublishOptions): Promise<[boolean, string]>;
  close(): Promise<void>;
}

/** Options of `WorkerFixture.publish`. */
export interface PublishOptions {
  authed?: string[];
  cid?: string;
  /** Replaces some processor dependencies (e.g. a config with another minimum PoW). */
  deps?: Partial<ProcessorDeps>;
}

/** Creates the fixture; `env` overrides settings by their environment variable names. */
export async function workerFixture(env: Record<string, string> = {}): Promise<WorkerFixture> {
  const base = loadConfig();
  const dbUrl = new URL(base.databaseUrl);
  const dbName = `nostr_wtest_${randomHex(12)}`;
  dbUrl.pathname = `/${dbName}`;
  const prefix = `wt${randomHex(10)}.`;
  const config = loadConfig({
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL: base.redisUrl,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: "error",
    METRICS_PORT: "0",
    ...env,
  });
  await ensureDatabase(config.databaseUrl);
  const sql = connectPostgres(config.databaseUrl, { max: 6, appName: "worker-test" });
  await migrate(sql, await readMigrations(new URL("../migrations/", import.meta.url)));
  const redis = connectRedis(config.redisUrl, { name: "worker-test" });
  const keys = redisKeys(prefix);
  const replies = await ReplyCollector.open(config.redisUrl, prefix);
  const deps: ProcessorDeps = {
    sql,
    redis,
    keys,
    config,
    log: createLogger("worker-test", "error"),
  };
  async function publish(e: NostrEvent, o: PublishOptions = {}) {
    const cid = o.cid ?? newCid();
    const job = { data: { cid, authed: o.authed ?? [], event: canonicalJson(e) } };
    await newEvent(job, { ...deps, ...o.deps });
    return await replies.ok(keys.connectionChannel(cid));
  }
  async function close() {
    await replies.close();
    await sql.end({ timeout: 5 });
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (found.length) await redis.unlink(...found);
    } while (cursor !== "0");
    await redis.quit();
    const adminUrl = new URL(config.databaseUrl);
    adminUrl.pathname = "/postgres";
    const admin = connectPostgres(adminUrl.toString(), { max: 1 });
    try {
      await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
    } finally {
      await admin.end();
    }
  }
  return { config, keys, prefix, sql, redis, deps, replies, publish, close };
}

/**
 * Registers the tests of one file against one shared fixture (created by the first test that
 * runs, dropped by `end()`, which must be called last).
 */
export function workerSuite(env: Record<string, string> = {}) {
  let fixture: Promise<WorkerFixture> | undefined;
  function get() {
    return fixture ??= workerFixture(env);
  }
  return {
    test(name: string, fn: (fx: WorkerFixture) => Promise<void>) {
      Deno.test({
        name,
        sanitizeOps: false,
        sanitizeResources: false,
        fn: async () => await fn(await get()),
      });
    },
    end() {
      Deno.test({
        name: "(fixture teardown)",
        sanitizeOps: false,
        sanitizeResources: false,
        fn: async () => {
          if (fixture) await (await fixture).close();
        },
      });
    },
  };
}

/** Fields of an event to sign; anything missing gets a plain kind-1 default. */
export interface Template {
  kind?: number;
  content?: string;
  tags?: string[][];
  created_at?: number;
}

/** A key pair that signs events. */
export interface Signer {
  pubkey: string;
  sign(t?: Template): NostrEvent;
  /** Signs an event whose id has at least `bits` leading zero bits (nonce tag committing `target`). */
  mine(bits: number, target?: number, t?: Template): NostrEvent;
}

/** The current unix time in seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A new random key pair. */
export function newSigner(): Signer {
  const sk = generateSecretKey();
  const pubkey = getPublicKey(sk);
  function template(t: Template = {}) {
    return {
      kind: t.kind ?? 1,
      content: t.content ?? `note ${randomHex(8)}`,
      tags: t.tags ?? [],
      created_at: t.created_at ?? nowSeconds(),
    };
  }
  function sign(t: Template = {}): NostrEvent {
    return finalizeEvent(template(t), sk) as NostrEvent;
  }
  function mine(bits: number, target = bits, t: Template = {}): NostrEvent {
    const base = template(t);
    for (let n = 0;; n++) {
      const tags = [...base.tags, ["nonce", String(n), String(target)]];
      const id = computeId({ ...base, tags, pubkey });
      if (leadingZeroBits(id) >= bits) return finalizeEvent({ ...base, tags }, sk) as NostrEvent;
    }
  }
  return { pubkey, sign, mine };
}

function leadingZeroBits(id: string): number {
  let bits = 0;
  for (const c of id) {
    const n = parseInt(c, 16);
    if (n === 0) bits += 4;
    else return bits + Math.clz32(n) - 28;
  }
  return bits;
}

/** Ids of the stored events (of one kind, or all), newest first. */
export async function storedIds(sql: Sql, kind?: number): Promise<string[]> {
  const rows = kind === undefined
    ? await sql`select encode(event_id, 'hex') as id from events order by created_at desc, event_id`
    : await sql`select encode(event_id, 'hex') as id from events where kind = ${kind}
                order by created_at desc, event_id`;
  return rows.map((r) => r.id as string);
}

/** Decodes the `send` reply `message` into its single wire message. */
export function wireMessage(message: string): unknown[] {
  const { header, lines } = decodeReply(message);
  if (header.op !== "send" || lines.length !== 1) {
    throw new Error(`Cannot read reply: expected one send line, got ${message.slice(0, 200)}`);
  }
  return JSON.parse(lines[0]!) as unknown[];
}

/** Rows of the accounts schema (migrations/0003_accounts.sql) that auth levels are read from. */
export function accounts(sql: Sql) {
  /** The authors row of `pubkey` (created when missing). */
  async function authorId(pubkey: string): Promise<number> {
    const [row] = await sql`insert into authors (pubkey) values (decode(${pubkey}, 'hex'))
      on conflict (pubkey) do update set pubkey = excluded.pubkey returning id`;
    return row!.id as number;
  }
  return {
    authorId,
    /** A user, email-confirmed or not; returns its id. */
    async user(confirmed: boolean): Promise<number> {
      const [row] = await sql`insert into users (email, password_hash, confirmed_at)
        values (${`${randomHex(12)}@example.com`}, 'x', ${confirmed ? new Date() : null})
        returning id`;
      return row!.id as number;
    },
    /** Links `pubkey` to user `userId`. */
    async link(userId: number, pubkey: string): Promise<void> {
      await sql`insert into user_pubkeys (author_id, user_id) values (${await authorId(
        pubkey,
      )}, ${userId})`;
    },
    /** Sets the subscription of `pubkey` to expire `seconds` from now (negative: expired). */
    async subscribe(pubkey: string, seconds: number): Promise<void> {
      const expires = new Date(Date.now() + seconds * 1000);
      await sql`insert into author_subscriptions (author_id, expires_at)
        values (${await authorId(pubkey)}, ${expires})
        on conflict (author_id) do update set expires_at = excluded.expires_at`;
    },
    /** Makes `pubkey` a trusted author. */
    async trust(pubkey: string): Promise<void> {
      await sql`insert into trusted_authors (author_id) values (${await authorId(pubkey)})
        on conflict do nothing`;
    },
    /** Removes `pubkey` from the trusted authors. */
    async distrust(pubkey: string): Promise<void> {
      await sql`delete from trusted_authors where author_id = ${await authorId(pubkey)}`;
    },
  };
}

/** A signed kind-22242 auth event by `signer` for connection `cid`. */
export function authEvent(signer: Signer, cid: string, relay = "ws://localhost:3000"): NostrEvent {
  return signer.sign({ kind: 22242, content: "", tags: [["relay", relay], ["challenge", cid]] });
}
