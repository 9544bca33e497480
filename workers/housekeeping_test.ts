import assert from "node:assert/strict";
import { connectionHashes, JOBS, STATS_CONNECTIONS_MAX } from "../lib/contract.ts";
import { housekeeping, purgeExpired, sampleConnections, sweepConnections } from "./housekeeping.ts";
import {
  newCid,
  newSigner,
  nowSeconds,
  randomHex,
  storedIds,
  workerSuite,
} from "./_test_helpers.ts";

const suite = workerSuite();

suite.test("purgeExpired() deletes expired events with their index rows and keeps the rest", async (fx) => {
  const s = newSigner();
  const t = nowSeconds();
  const soon = s.sign({ content: "soon", tags: [["expiration", String(t + 10)], ["t", "x"]] });
  const later = s.sign({ tags: [["expiration", String(t + 1000)]] });
  const forever = s.sign();
  for (const e of [soon, later, forever]) assert.deepEqual(await fx.publish(e), [true, ""]);
  assert.equal(await purgeExpired({ ...fx.deps, now: () => t + 10 }), 1);
  const ids = await storedIds(fx.sql);
  assert.deepEqual([ids.includes(soon.id), ids.includes(later.id), ids.includes(forever.id)], [
    false,
    true,
    true,
  ]);
  const [orphans] = await fx.sql`select
    (select count(*)::int from searchable_tags t where not exists (select 1 from events e where e.id = t.event_id))
    + (select count(*)::int from searchable_contents c
       where not exists (select 1 from events e where e.id = c.event_id)) as n`;
  assert.equal(orphans?.n, 0);
});

suite.test("purgeExpired() works through more expired events than one batch", async (fx) => {
  const t = nowSeconds();
  await fx.sql`insert into authors (pubkey) values (sha256('purge'::bytea)) on conflict do nothing`;
  await fx.sql`insert into events (event_id, author_id, kind, created_at, expires_at, raw)
    select sha256(('purge' || i)::bytea), (select id from authors where pubkey = sha256('purge'::bytea)),
      1, ${t}, ${t - 1}, '{}'
    from generate_series(1, 2500) as i`;
  assert.equal(await housekeeping({ name: JOBS.purgeExpired, data: {} }, fx.deps), 2500);
  const [row] = await fx.sql`select count(*)::int as n from events where expires_at <= ${t}`;
  assert.equal(row?.n, 0);
});

suite.test("sweepConnections() removes the state of dead nodes' connections only", async (fx) => {
  const { redis, keys } = fx;
  const now = Date.now();
  const [live, silent, missing] = [randomHex(8), randomHex(8), randomHex(8)];
  await redis.hset(keys.nodes, live, String(now - 5_000), silent, String(now - 120_000));
  const cids = {
    live: newCid(live),
    silent1: newCid(silent),
    silent2: newCid(silent),
    missing: newCid(missing),
  };
  const all = Object.values(cids);
  await redis.sadd(keys.connections, ...all);
  for (const hash of connectionHashes(keys)) {
    await redis.hset(hash, Object.fromEntries(all.map((cid) => [cid, "1"])));
  }
  for (const cid of [cids.live, cids.silent1]) {
    await redis.sadd(keys.clientReqs(cid), "s1", "s2");
    await redis.hset(keys.subscriptions, `${cid}:s1`, "[{}]", `${cid}:s2`, "[{}]");
  }
  const result = await sweepConnections(fx.deps, now);
  assert.deepEqual(result, { connections: 3, nodes: 1 });
  assert.deepEqual(await redis.smembers(keys.connections), [cids.live]);
  for (const hash of connectionHashes(keys)) {
    assert.deepEqual(Object.keys(await redis.hgetall(hash)), [cids.live]);
  }
  assert.deepEqual((await redis.smembers(keys.clientReqs(cids.live))).sort(), ["s1", "s2"]);
  assert.equal(await redis.exists(keys.clientReqs(cids.silent1)), 0);
  assert.deepEqual(Object.keys(await redis.hgetall(keys.subscriptions)).sort(), [
    `${cids.live}:s1`,
    `${cids.live}:s2`,
  ]);
  assert.deepEqual(Object.keys(await redis.hgetall(keys.nodes)), [live]);
});

suite.test("sweepConnections() removes dead connections from their pubkey's connection set", async (fx) => {
  const { redis, keys } = fx;
  const now = Date.now();
  const [live, dead] = [randomHex(8), randomHex(8)];
  await redis.hset(keys.nodes, live, String(now), dead, String(now - 600_000));
  const [alive, gone, anonymous] = [newCid(live), newCid(dead), newCid(dead)];
  const [p, q] = [newSigner().pubkey, newSigner().pubkey];
  await redis.sadd(keys.connections, alive, gone, anonymous);
  await redis.hset(keys.authentications, alive, p, gone, p);
  await redis.sadd(keys.pubkeyConnections(p), alive, gone);
  await redis.sadd(keys.pubkeyConnections(q), alive);
  await sweepConnections(fx.deps, now);
  assert.deepEqual(await redis.smembers(keys.pubkeyConnections(p)), [alive]);
  assert.deepEqual(await redis.smembers(keys.pubkeyConnections(q)), [alive]);
  assert.deepEqual(await redis.hmget(keys.authentications, alive, gone), [p, null]);
});

suite.test("sweepConnections() keeps a heartbeat refreshed while it sweeps", async (fx) => {
  const { redis, keys } = fx;
  const node = randomHex(8);
  const now = Date.now();
  await redis.hset(keys.nodes, node, String(now - 600_000));
  // The heartbeat moves on between the sweep's read and its removal of stale nodes.
  const racing = Object.assign(Object.create(redis), {
    async hgetall(key: string) {
      const value = await redis.hgetall(key);
      await redis.hset(keys.nodes, node, String(now));
      return value;
    },
  }) as typeof redis;
  const deps = { ...fx.deps, redis: racing };
  await sweepConnections(deps, now);
  assert.equal(await redis.hget(keys.nodes, node), String(now));
});

suite.test("SampleConnections prepends <time>:<count> and keeps 7 days of samples", async (fx) => {
  const { redis, keys } = fx;
  await redis.del(keys.connections, keys.statsConnections);
  await redis.sadd(keys.connections, newCid(), newCid(), newCid());
  const filler = Array.from({ length: STATS_CONNECTIONS_MAX }, (_, i) => `${i}:0`);
  await redis.rpush(keys.statsConnections, ...filler);
  const job = { name: JOBS.sampleConnections, data: {} };
  assert.equal(await housekeeping(job, { ...fx.deps, now: () => 1_700_000_000 }), 3);
  assert.equal(await redis.llen(keys.statsConnections), STATS_CONNECTIONS_MAX);
  assert.equal(await redis.lindex(keys.statsConnections, 0), "1700000000:3");
  assert.equal(await sampleConnections(fx.deps), 3);
  await redis.del(keys.connections, keys.statsConnections);
});

suite.test("sweepConnections() declares a node dead after NODE_SILENCE_SECONDS", async (fx) => {
  const { redis, keys } = fx;
  const now = Date.now();
  const [quiet, older] = [randomHex(8), randomHex(8)];
  await redis.del(keys.nodes, keys.connections);
  await redis.hset(keys.nodes, quiet, String(now - 8_000), older, String(now - 11_000));
  await redis.sadd(keys.connections, newCid(quiet), newCid(older));
  const config = { ...fx.deps.config, nodeSilenceSeconds: 10, connectionSweepSeconds: 1 };
  assert.deepEqual(await sweepConnections({ ...fx.deps, config }, now), {
    connections: 1,
    nodes: 1,
  });
  assert.deepEqual(Object.keys(await redis.hgetall(keys.nodes)), [quiet]);
});

suite.end();
