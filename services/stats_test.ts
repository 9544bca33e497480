import assert from "node:assert/strict";
import { Worker } from "bullmq";
import { QUEUES } from "../lib/contract.ts";
import { connectRedis } from "../lib/redis.ts";
import { connectionsOverTime, eventsPerHour, eventsPerKind, relayHealth } from "./stats.ts";
import { store } from "./_store.ts";
import { serviceSuite, testSigner } from "./_testing.ts";

const suite = serviceSuite();

suite.test("eventsPerKind() counts the top kinds exactly on a small table", async ({ deps }) => {
  const s = testSigner();
  await store(
    deps,
    s.sign({ kind: 1 }),
    s.sign({ kind: 1 }),
    s.sign({ kind: 1 }),
    s.sign({ kind: 7 }),
    s.sign({ kind: 7 }),
    s.sign({ kind: 0 }),
  );
  assert.deepEqual(await eventsPerKind(deps, { top: 2 }), {
    kinds: [{ kind: 1, count: 3 }, { kind: 7, count: 2 }],
    other: 1,
    total: 6,
    approximate: false,
  });
});

suite.test("eventsPerKind() estimates from statistics on a large table", async ({ deps }) => {
  await deps.sql`analyze events`;
  const r = await eventsPerKind(deps, { top: 2, exactLimit: 0 });
  assert.equal(r.approximate, true);
  assert.equal(r.total, 6);
  assert.deepEqual(r.kinds.map((k) => k.kind), [1, 7]);
  assert.equal(r.kinds[0]!.count, 3);
  assert.equal(r.other, 1);
});

suite.test("eventsPerHour() buckets created_at by hour, oldest first, zeros included", async ({ deps }) => {
  const s = testSigner();
  const now = 1_800_000_000 + 1800; // half past an hour
  const hour = 1_800_000_000;
  await deps.sql`delete from events`;
  await store(
    deps,
    s.sign({ created_at: hour + 5 }),
    s.sign({ created_at: hour + 100 }),
    s.sign({ created_at: hour - 3600 * 2 }),
    s.sign({ created_at: hour - 3600 * 60 }),
  );
  const series = await eventsPerHour(deps, { hours: 48, now });
  assert.equal(series.length, 48);
  assert.deepEqual(series.at(-1), { t: hour, v: 2 });
  assert.deepEqual(series.at(-3), { t: hour - 7200, v: 1 });
  assert.equal(series[0]!.t, hour - 47 * 3600);
  assert.equal(series.reduce((n, h) => n + h.v, 0), 3);
});

suite.test("connectionsOverTime() reads the worker's samples oldest first", async ({ deps }) => {
  await deps.redis.del(deps.keys.statsConnections);
  await deps.redis.lpush(deps.keys.statsConnections, "100:1", "160:4", "220:2", "garbage");
  assert.deepEqual(await connectionsOverTime(deps), [
    { t: 100, v: 1 },
    { t: 160, v: 4 },
    { t: 220, v: 2 },
  ]);
  assert.deepEqual(await connectionsOverTime(deps, { minutes: 2 }), [{ t: 220, v: 2 }]);
  assert.deepEqual(await connectionsOverTime(deps, { points: 2 }), [
    { t: 160, v: 2.5 },
    { t: 220, v: 2 },
  ]);
});

suite.test("relayHealth() probes the stores, counts workers per queue, lists web nodes", async ({ deps }) => {
  let h = await relayHealth(deps);
  assert.equal(h.redis.ok, true);
  assert.match(h.redis.detail, /^Redis \d/);
  assert.equal(h.postgres.ok, true);
  assert.match(h.postgres.detail, /^PostgreSQL \d/);
  assert.deepEqual(h.workers.map((w) => w.count), [0, 0, 0, 0, 0]);
  assert.equal(h.ok, false);
  const connection = connectRedis(deps.config.redisUrl, { forBullmq: true });
  const worker = new Worker(QUEUES.req, () => Promise.resolve(), {
    connection,
    prefix: deps.keys.bullPrefix,
  });
  try {
    await worker.waitUntilReady();
    await deps.redis.hset(deps.keys.nodes, "abcdef12", String(Date.now()));
    h = await relayHealth(deps);
    assert.equal(h.workers.find((w) => w.key === "req")!.count, 1);
    assert.equal(h.workers.find((w) => w.key === "req")!.queue, "nostr-req");
    assert.deepEqual(h.webNodes.map((n) => n.id), ["abcdef12"]);
  } finally {
    await worker.close();
    await connection.quit();
  }
});

suite.end();
