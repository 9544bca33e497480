/**
 * Hot limits and the rate limit against a real web process and Redis: maintenance and
 * max_allowed_connections refuse new connections (existing ones keep working), the per-IP
 * sliding window refuses with rate-limited, unlimited_ips bypass it, and a trusted proxy header
 * names the client IP (so the tests can be several clients at once).
 */
import assert from "node:assert/strict";
import { type NewEventJob, QUEUES } from "../lib/contract.ts";
import {
  assertWorks,
  JobTap,
  startTestRelay,
  TestClient,
  type TestRelay,
  waitFor,
} from "./_testing.ts";
import { signer } from "./_signing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

let relay: TestRelay;
let events: JobTap<NewEventJob>;
const LIMITED = "rate-limited: slow down, at most 5 messages per 60 seconds";

Deno.test({ name: "setup", ...opts }, async () => {
  relay = await startTestRelay({
    RATE_LIMITING_MAX_REQUESTS: "5",
    RATE_LIMITING_SLIDING_WINDOW: "60",
    TRUST_PROXY_HEADER: "x-forwarded-for",
  });
  events = new JobTap(QUEUES.event, relay.config, relay.keys);
});

/** A client seen as coming from `ip` (through the trusted proxy header). */
function from(ip: string) {
  return relay.connect({ headers: { "x-forwarded-for": `203.0.113.250, ${ip}` } });
}

Deno.test({
  name: "the proxy header's last entry is the client IP, the socket address otherwise",
  ...opts,
  async fn() {
    const { client, cid } = await from("198.51.100.1");
    assert.equal(await relay.redis.hget(relay.keys.connectionsIps, cid), "198.51.100.1");
    const direct = await relay.connect(); // sends nothing: 127.0.0.1 shares one window
    assert.equal(await relay.redis.hget(relay.keys.connectionsIps, direct.cid), "127.0.0.1");
    await client.close();
    await direct.client.close();
  },
});

Deno.test({
  name: "rate limit: every message counts, the sixth is refused per command",
  ...opts,
  async fn() {
    const a = await from("198.51.100.2");
    const b = await from("198.51.100.3");
    // five messages of all sorts, one of them not even JSON
    a.client.send(["REQ", "1", { limit: 0 }]);
    a.client.send("nope");
    a.client.send(["CLOSE", "1"]);
    a.client.send(["REQ", "2", { limit: 0 }]);
    a.client.send(["REQ", "3", { limit: 0 }]);
    assert.deepEqual(await a.client.next(), ["EOSE", "1"]);
    assert.deepEqual(await a.client.next(), ["NOTICE", "invalid: message is not valid JSON"]);
    assert.deepEqual(await a.client.next(), ["EOSE", "2"]);
    assert.deepEqual(await a.client.next(), ["EOSE", "3"]);
    const e = signer().sign({ content: "one too many" });
    a.client.send(["EVENT", e]);
    assert.deepEqual(await a.client.next(), ["OK", e.id, false, LIMITED]);
    a.client.send(["REQ", "4", { limit: 0 }]);
    assert.deepEqual(await a.client.next(), ["CLOSED", "4", LIMITED]);
    a.client.send(["COUNT", "5", { kinds: [1] }]);
    assert.deepEqual(await a.client.next(), ["CLOSED", "5", LIMITED]);
    a.client.send(["CLOSE", "2"]);
    assert.deepEqual(await a.client.next(), ["NOTICE", LIMITED]);
    a.client.send(["AUTH", { id: e.id }]);
    assert.deepEqual(await a.client.next(), ["OK", e.id, false, LIMITED]);
    a.client.send("nope");
    assert.deepEqual(await a.client.next(), ["NOTICE", LIMITED]);
    // the same IP on another connection shares the window; another IP does not
    const a2 = await from("198.51.100.2");
    a2.client.send(["REQ", "x", { limit: 0 }]);
    assert.deepEqual(await a2.client.next(), ["CLOSED", "x", LIMITED]);
    await assertWorks(b.client);
    const other = signer().sign({ content: "fine" });
    b.client.send(["EVENT", other]);
    assert.equal((await events.next()).data.cid, b.cid);
    assert.equal(await relay.redis.zcard(relay.keys.rateLimit("198.51.100.2")), 5);
    for (const c of [a, a2, b]) await c.client.close();
  },
});

Deno.test({
  name: "rate limit: a refused REQ also ends the open subscription of that id",
  ...opts,
  async fn() {
    const { client, cid } = await from("198.51.100.4");
    for (let i = 0; i < 5; i++) client.send(["REQ", "same", { limit: 0 }]);
    for (let i = 0; i < 5; i++) assert.deepEqual(await client.next(), ["EOSE", "same"]);
    client.send(["REQ", "same", { limit: 0 }]);
    assert.deepEqual(await client.next(), ["CLOSED", "same", LIMITED]);
    assert.deepEqual(await relay.redis.smembers(relay.keys.clientReqs(cid)), []);
    await client.close();
  },
});

Deno.test({
  name: "rate limit: an IP in unlimited_ips is never limited, others still are",
  ...opts,
  async fn() {
    await relay.redis.sadd(relay.keys.unlimitedIps, "198.51.100.9");
    const free = await from("198.51.100.9");
    for (let i = 0; i < 20; i++) free.client.send(["REQ", `u${i}`, { limit: 0 }]);
    for (let i = 0; i < 20; i++) assert.deepEqual(await free.client.next(), ["EOSE", `u${i}`]);
    assert.equal(await relay.redis.exists(relay.keys.rateLimit("198.51.100.9")), 0);
    const limited = await from("198.51.100.10");
    for (let i = 0; i < 6; i++) limited.client.send(["REQ", `l${i}`, { limit: 0 }]);
    for (let i = 0; i < 5; i++) assert.deepEqual(await limited.client.next(), ["EOSE", `l${i}`]);
    assert.deepEqual(await limited.client.next(), ["CLOSED", "l5", LIMITED]);
    await free.client.close();
    await limited.client.close();
  },
});

Deno.test({
  name: "maintenance refuses new connections with 3503, existing ones keep working",
  ...opts,
  async fn() {
    const existing = await from("198.51.100.20");
    await relay.redis.set(relay.keys.maintenance, "1");
    try {
      const before = await relay.redis.scard(relay.keys.connections);
      const refused = await TestClient.connect(relay.url);
      const closed = await refused.closed;
      assert.equal(closed.code, 3503);
      assert.equal(closed.reason, "restricted: server is on maintenance, please try again later");
      assert.equal(refused.inbox.length, 0, "no challenge");
      assert.equal(await relay.redis.scard(relay.keys.connections), before, "never recorded");
      await assertWorks(existing.client);
    } finally {
      await relay.redis.del(relay.keys.maintenance);
    }
    const after = await from("198.51.100.21");
    await assertWorks(after.client);
    await existing.client.close();
    await after.client.close();
  },
});

Deno.test({
  name: "max_allowed_connections refuses connections beyond it with 3503",
  ...opts,
  async fn() {
    const existing = await from("198.51.100.22");
    const count = await relay.redis.scard(relay.keys.connections);
    await relay.redis.set(relay.keys.maxAllowedConnections, String(count + 1));
    try {
      const last = await from("198.51.100.23");
      const refused = await TestClient.connect(relay.url);
      const closed = await refused.closed;
      assert.equal(closed.code, 3503);
      assert.equal(closed.reason, "restricted: server is busy, please try again later");
      await assertWorks(existing.client);
      await assertWorks(last.client);
      await last.client.close();
      await waitFor("the freed slot", async () => {
        return !(await relay.redis.sismember(relay.keys.connections, last.cid));
      });
      // the limit is read at each connect: a freed slot is usable at once
      const again = await from("198.51.100.24");
      await assertWorks(again.client);
      await again.client.close();
    } finally {
      await relay.redis.del(relay.keys.maxAllowedConnections);
    }
    await existing.client.close();
  },
});

Deno.test({ name: "teardown", ...opts }, async () => {
  await events.close();
  await relay.stop();
});
