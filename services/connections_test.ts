import assert from "node:assert/strict";
import { decodeReply } from "../lib/contract.ts";
import { connectRedis } from "../lib/redis.ts";
import {
  ADMIN_CLOSE,
  closeConnection,
  connectionCounts,
  getConnection,
  listConnections,
} from "./connections.ts";
import type { ServiceDeps } from "./deps.ts";
import { randomHex, randomPubkey, serviceSuite } from "./_testing.ts";

const suite = serviceSuite();

/** Writes the Redis state a web process keeps for a connection; returns its id. */
async function fakeConnection(
  deps: ServiceDeps,
  o: { startedAt: number; pubkey?: string; sids?: string[] },
): Promise<string> {
  const k = deps.keys;
  const cid = randomHex(32);
  const p = deps.redis.multi()
    .sadd(k.connections, cid)
    .hset(k.connectionsIps, cid, "10.0.0.7")
    .hset(k.connectionsStarts, cid, String(o.startedAt))
    .hset(k.requests, cid, "12")
    .hset(k.incomingTraffic, cid, "3400")
    .hset(k.outgoingTraffic, cid, "56000");
  if (o.pubkey) {
    p.hset(k.authentications, cid, o.pubkey).hset(k.authorizations, cid, "3")
      .hset(k.connectionsAuthenticators, cid, "ab".repeat(32))
      .sadd(k.pubkeyConnections(o.pubkey), cid);
  }
  for (const sid of o.sids ?? []) {
    p.sadd(k.clientReqs(cid), sid).hset(k.subscriptions, `${cid}:${sid}`, '[{"kinds":[1]}]');
  }
  await p.exec();
  return cid;
}

suite.test("listConnections() reads every field, newest first, and pages", async ({ deps }) => {
  const now = Math.floor(Date.now() / 1000);
  const pubkey = randomPubkey();
  const old = await fakeConnection(deps, { startedAt: now - 100 });
  const fresh = await fakeConnection(deps, { startedAt: now - 5, pubkey, sids: ["b", "a"] });
  const { total, connections } = await listConnections(deps);
  assert.equal(total, 2);
  assert.deepEqual(connections.map((c) => c.id), [fresh, old]);
  const c = connections[0]!;
  assert.equal(c.node, fresh.slice(0, 8));
  assert.equal(c.ip, "10.0.0.7");
  assert.equal(c.pubkey, pubkey);
  assert.equal(c.level, 3);
  assert.equal(c.authEventId, "ab".repeat(32));
  assert.deepEqual(c.subscriptions, ["a", "b"]);
  assert.equal(c.requests, 12);
  assert.equal(c.bytesIn, 3400);
  assert.equal(c.bytesOut, 56000);
  assert.equal(c.startedAt, now - 5);
  assert.ok(c.ageSeconds! >= 5 && c.ageSeconds! < 60);
  assert.equal(connections[1]!.pubkey, null);
  assert.equal(connections[1]!.level, 0);
  const second = await listConnections(deps, { limit: 1, offset: 1 });
  assert.deepEqual(second.connections.map((x) => x.id), [old]);
  const detail = await getConnection(deps, fresh);
  assert.deepEqual(detail!.filters, { a: [{ kinds: [1] }], b: [{ kinds: [1] }] });
  assert.equal(await getConnection(deps, randomHex(32)), null);
  assert.deepEqual(await connectionCounts(deps), {
    connections: 2,
    authenticated: 1,
    subscriptions: 2,
    nodes: 0,
  });
  await closeConnection(deps, old);
  await closeConnection(deps, fresh);
});

suite.test("closeConnection() publishes the close when a web process listens", async ({ deps }) => {
  const cid = await fakeConnection(deps, { startedAt: Math.floor(Date.now() / 1000) });
  const sub = connectRedis(deps.config.redisUrl);
  try {
    const got = new Promise<string>((resolve) => sub.on("message", (_ch, m) => resolve(m)));
    await sub.subscribe(deps.keys.connectionChannel(cid));
    assert.deepEqual(await closeConnection(deps, cid), { delivered: true, cleaned: false });
    assert.deepEqual(decodeReply(await got).header, { op: "close", ...ADMIN_CLOSE });
    assert.equal(await deps.redis.sismember(deps.keys.connections, cid), 1, "left to its process");
  } finally {
    await sub.quit();
  }
  assert.deepEqual(await closeConnection(deps, cid), { delivered: false, cleaned: true });
});

suite.test("closeConnection() cleans the Redis state of a connection nobody serves", async ({ deps }) => {
  const pubkey = randomPubkey();
  const cid = await fakeConnection(deps, {
    startedAt: Math.floor(Date.now() / 1000),
    pubkey,
    sids: ["x"],
  });
  assert.deepEqual(await closeConnection(deps, cid), { delivered: false, cleaned: true });
  const k = deps.keys;
  assert.equal(await deps.redis.sismember(k.connections, cid), 0);
  assert.equal(await deps.redis.hexists(k.connectionsIps, cid), 0);
  assert.equal(await deps.redis.hexists(k.authentications, cid), 0);
  assert.equal(await deps.redis.hexists(k.subscriptions, `${cid}:x`), 0);
  assert.equal(await deps.redis.exists(k.clientReqs(cid)), 0);
  assert.equal(await deps.redis.sismember(k.pubkeyConnections(pubkey), cid), 0);
  await assert.rejects(() => closeConnection(deps, "nope"), { code: "invalid" });
});

suite.end();
