/** The web process end to end over HTTP and websockets, with real Redis. */
import assert from "node:assert/strict";
import { connectionHashes, encodeReply } from "../lib/contract.ts";
import { startTestRelay, TestClient, type TestRelay, waitFor } from "./_testing.ts";
import { readCloseFrame } from "./_raw_ws.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

let relay: TestRelay;

Deno.test({ name: "setup", ...opts }, async () => {
  relay = await startTestRelay({ NIP_11_RELAY_NAME: "Test", MAX_OUTGOING_BYTES: "65536" });
});

Deno.test({ name: "NIP-11, health check and landing page over HTTP", ...opts }, async () => {
  const base = `http://127.0.0.1:${relay.web.port}`;
  const res = await fetch(base, { headers: { accept: "application/nostr+json" } });
  assert.equal(res.headers.get("content-type"), "application/nostr+json");
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  const doc = await res.json();
  assert.equal(doc.name, "Test");
  assert.equal(doc.limitation.max_subscriptions, relay.config.maxSubscriptions);
  const health = await fetch(`${base}/healthz`);
  assert.equal(await health.text(), "ok");
  const home = await fetch(base);
  assert.match(await home.text(), new RegExp(relay.config.relayUrl));
});

Deno.test(
  { name: "connection state and counters are written, then removed", ...opts },
  async () => {
    const { client, cid, challenge } = await relay.connect();
    const { redis, keys } = relay;
    assert.equal(cid.slice(0, 8), relay.web.nodeId);
    assert.match(challenge, /^[0-9a-f]{32}$/);
    assert.notEqual(challenge, cid.slice(0, 32), "the challenge is not the connection id");
    assert.match(cid, /^[0-9a-f]{32}$/);
    assert.equal(await redis.hget(keys.connectionsIps, cid), "127.0.0.1");
    const start = Number(await redis.hget(keys.connectionsStarts, cid));
    assert.ok(Math.abs(start - Date.now() / 1000) < 10);
    const req = JSON.stringify(["REQ", "s", { limit: 0 }]);
    client.send(req);
    assert.deepEqual(await client.next(), ["EOSE", "s"]);
    client.send("nope");
    const notice = JSON.stringify(await client.next());
    const sent = JSON.stringify(["AUTH", challenge]).length + '["EOSE","s"]'.length +
      notice.length;
    const expected = ["2", String(req.length + 4), String(sent)];
    await waitFor("counters", async () => {
      const got = await Promise.all([
        redis.hget(keys.requests, cid),
        redis.hget(keys.incomingTraffic, cid),
        redis.hget(keys.outgoingTraffic, cid),
      ]);
      return JSON.stringify(got) === JSON.stringify(expected);
    });
    assert.deepEqual(await redis.smembers(keys.clientReqs(cid)), ["s"]);
    await client.close();
    await waitFor("state removal", async () => !(await redis.sismember(keys.connections, cid)));
    for (const hash of connectionHashes(keys)) assert.equal(await redis.hexists(hash, cid), 0);
    assert.equal(await redis.exists(keys.clientReqs(cid)), 0);
    assert.equal(await redis.hexists(keys.subscriptions, `${cid}:s`), 0);
  },
);

Deno.test({ name: "Redis connections do not grow with clients", ...opts }, async () => {
  async function webConnections() {
    const list = await relay.redis.client("LIST") as string;
    return list.split("\n").filter((l) => l.includes(`name=nostr-web-${relay.web.nodeId}`)).length;
  }
  assert.equal(await webConnections(), 2);
  const clients = [];
  for (let i = 0; i < 30; i++) clients.push((await relay.connect()).client);
  assert.equal(await webConnections(), 2);
  await Promise.all(clients.map((c) => c.close()));
});

Deno.test({ name: "a client that stops reading is closed with 1008", ...opts }, async () => {
  const { redis, keys } = relay;
  const before = new Set(await redis.smembers(keys.connections));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: relay.web.port });
  await conn.write(new TextEncoder().encode(
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  ));
  const cid = await waitFor("the raw connection", async () => {
    return (await redis.smembers(keys.connections)).find((c) => !before.has(c));
  });
  const big = JSON.stringify(["NOTICE", "x".repeat(256 * 1024)]);
  await waitFor("the slow reader to be dropped", async () => {
    await redis.publish(keys.connectionChannel(cid), encodeReply({ op: "send" }, [big]));
    return !(await redis.sismember(keys.connections, cid));
  }, 20_000);
  const close = await readCloseFrame(conn);
  assert.deepEqual(close, { code: 1008, reason: "error: client is reading too slowly" });
  conn.close();
});

Deno.test({ name: "teardown", ...opts }, async () => {
  await relay.stop();
});

Deno.test({ name: "idle connections are closed after IDLE_TIMEOUT_SECONDS", ...opts }, async () => {
  const idle = await startTestRelay({ IDLE_TIMEOUT_SECONDS: "1" });
  try {
    const { client } = await idle.connect();
    const ev = await client.closed;
    assert.equal(ev.code, 1000);
    assert.equal(ev.reason, "error: idle for too long");
  } finally {
    await idle.stop();
  }
});

Deno.test({ name: "close() closes sockets with 1001 and removes all state", ...opts }, async () => {
  const r = await startTestRelay();
  try {
    const { client, cid } = await r.connect();
    client.send(["REQ", "s", { limit: 0 }]);
    await client.next();
    assert.equal(await r.redis.hexists(r.keys.nodes, r.web.nodeId), 1);
    await r.web.close();
    const ev = await client.closed;
    assert.equal(ev.code, 1001);
    assert.equal(ev.reason, "error: relay is shutting down");
    assert.equal(await r.redis.hexists(r.keys.nodes, r.web.nodeId), 0);
    assert.equal(await r.redis.sismember(r.keys.connections, cid), 0);
    assert.equal(await r.redis.exists(r.keys.clientReqs(cid)), 0);
    assert.equal(await r.redis.hlen(r.keys.subscriptions), 0);
    await assert.rejects(TestClient.connect(r.url));
  } finally {
    await r.stop();
  }
});
