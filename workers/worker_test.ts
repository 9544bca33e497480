import assert from "node:assert/strict";
import { Queue } from "bullmq";
import { decodeReply, JOBS, QUEUES } from "../lib/contract.ts";
import { createLogger } from "../lib/log.ts";
import { canonicalJson } from "../lib/nostr/event.ts";
import { connectRedis } from "../lib/redis.ts";
import { redactUrl, startWorker } from "./worker.ts";
import {
  accounts,
  authEvent,
  newCid,
  newSigner,
  wireMessage,
  type WorkerFixture,
  workerSuite,
} from "./_test_helpers.ts";

const suite = workerSuite({ EXPIRATION_SWEEP_SECONDS: "120", CONNECTION_SWEEP_SECONDS: "45" });
const quiet = createLogger("worker-test", "error");

/** A BullMQ queue of the fixture's prefix, as the web process would open it. */
function queue(fx: WorkerFixture, name: string) {
  const connection = connectRedis(fx.config.redisUrl, { forBullmq: true });
  const q = new Queue(name, { connection, prefix: fx.keys.bullPrefix });
  return {
    q,
    async close() {
      await q.close();
      await connection.quit();
    },
  };
}

suite.test("startWorker() processes EVENT, REQ and COUNT jobs from the queues", async (fx) => {
  const worker = await startWorker({ config: fx.config, log: quiet });
  const events = queue(fx, QUEUES.event);
  const reqs = queue(fx, QUEUES.req);
  const counts = queue(fx, QUEUES.count);
  try {
    const cid = newCid();
    const channel = fx.keys.connectionChannel(cid);
    const e = newSigner().sign({ kind: 1, content: "through the queue" });
    await events.q.add(JOBS.newEvent, { cid, authed: [], event: canonicalJson(e) });
    assert.deepEqual(await fx.replies.ok(channel), [true, ""]);
    await reqs.q.add(JOBS.newSubscription, {
      cid,
      authed: [],
      sid: "s",
      gen: 1,
      filters: [{ ids: [e.id] }],
    });
    assert.deepEqual(decodeReply(await fx.replies.next(channel)), {
      header: { op: "events", sid: "s", gen: 1, eose: true },
      lines: [canonicalJson(e)],
    });
    await counts.q.add(JOBS.countRequest, {
      cid,
      authed: [],
      sid: "c",
      filters: [{ authors: [e.pubkey] }],
    });
    assert.deepEqual(wireMessage(await fx.replies.next(channel)), ["COUNT", "c", { count: 1 }]);
  } finally {
    await Promise.all([events.close(), reqs.close(), counts.close()]);
    await worker.close();
  }
});

suite.test("startWorker() processes Authorize and RecomputeLevels jobs from the auth queue", async (fx) => {
  const worker = await startWorker({ config: fx.config, log: quiet });
  const auth = queue(fx, QUEUES.auth);
  try {
    const cid = newCid();
    const channel = fx.keys.connectionChannel(cid);
    const s = newSigner();
    const e = authEvent(s, cid);
    await auth.q.add(JOBS.authorize, { cid, event: canonicalJson(e) });
    assert.deepEqual(decodeReply(await fx.replies.next(channel)), {
      header: { op: "auth", eventId: e.id, pubkey: s.pubkey, ok: true, level: 1, reason: "" },
      lines: [],
    });
    await accounts(fx.sql).trust(s.pubkey);
    await fx.redis.sadd(fx.keys.pubkeyConnections(s.pubkey), cid);
    await auth.q.add(JOBS.recomputeLevels, { pubkeys: [s.pubkey] });
    assert.deepEqual(decodeReply(await fx.replies.next(channel)), {
      header: { op: "level", pubkey: s.pubkey, level: 4 },
      lines: [],
    });
  } finally {
    await auth.close();
    await worker.close();
  }
});

suite.test("startWorker() registers the housekeeping schedulers with the configured intervals", async (fx) => {
  const worker = await startWorker({ config: fx.config, log: quiet });
  const housekeeping = queue(fx, QUEUES.housekeeping);
  try {
    const schedulers = await housekeeping.q.getJobSchedulers();
    const every = Object.fromEntries(schedulers.map((s) => [s.name, s.every]));
    assert.deepEqual(every, {
      [JOBS.purgeExpired]: 120_000,
      [JOBS.sweepConnections]: 45_000,
      [JOBS.sampleConnections]: 60_000,
    });
  } finally {
    await housekeeping.close();
    await worker.close();
  }
});

suite.test("startWorker() names an unreachable PostgreSQL without its password", async (fx) => {
  const config = { ...fx.config, databaseUrl: "postgres://relay:s3cret@127.0.0.1:1/nostr" };
  await assert.rejects(
    startWorker({ config, log: quiet, connectTimeoutMs: 2000 }),
    (err: Error) =>
      err.message.includes("PostgreSQL unreachable at postgres://relay:***@127.0.0.1:1/nostr") &&
      !err.message.includes("s3cret"),
  );
});

suite.test("startWorker() names an unreachable Redis without its password", async (fx) => {
  const config = { ...fx.config, redisUrl: "redis://:s3cret@127.0.0.1:1" };
  await assert.rejects(
    startWorker({ config, log: quiet, connectTimeoutMs: 300 }),
    (err: Error) =>
      err.message.includes("Redis unreachable at redis://:***@127.0.0.1:1") &&
      !err.message.includes("s3cret"),
  );
});

Deno.test("redactUrl() hides the password only", () => {
  assert.equal(redactUrl("postgres://u:p@h:5432/db"), "postgres://u:***@h:5432/db");
  assert.equal(redactUrl("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
});

suite.test("workers/main.ts runs with --allow-net --allow-env only and stops on SIGTERM", async (fx) => {
  const env = {
    DATABASE_URL: fx.config.databaseUrl,
    REDIS_URL: fx.config.redisUrl,
    REDIS_PREFIX: fx.config.redisPrefix,
    LOG_LEVEL: "info",
  };
  const main = new URL("./main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", main],
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes('"worker started"')) {
    const { value, done } = await lines.read();
    if (done) break;
    out += value;
  }
  assert.ok(out.includes('"worker started"'), out);
  child.kill("SIGTERM");
  const status = await child.status;
  await lines.cancel();
  await child.stderr.cancel();
  assert.equal(status.code, 0);
});

suite.test("workers/main.ts exits 1 with the configuration problems on a bad setting", async () => {
  const main = new URL("./main.ts", import.meta.url).pathname;
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", main],
    env: { WORKER_CONCURRENCY: "lots" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 1);
  const text = new TextDecoder().decode(stderr);
  assert.ok(
    text.includes("Cannot load configuration") && text.includes("WORKER_CONCURRENCY"),
    text,
  );
});

suite.end();
