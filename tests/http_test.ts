/** NIP-11 document, CORS and health over HTTP, and the Redis connection state. */
import assert from "node:assert/strict";
import { TestClient } from "./_client.ts";
import { startRelay } from "./_harness.ts";

Deno.test({
  name: "HTTP - NIP-11, CORS, health; Redis connection state",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using relay = await startRelay({ NIP_11_RELAY_NAME: "Test relay", NIP_13_MIN_POW: "0" });

    await t.step("NIP-11 document on Accept: application/nostr+json", async () => {
      const res = await fetch(relay.httpUrl, { headers: { Accept: "application/nostr+json" } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      assert.ok(res.headers.get("access-control-allow-headers"));
      assert.ok(res.headers.get("access-control-allow-methods"));
      const doc = await res.json();
      assert.equal(doc.name, "Test relay");
      for (const nip of [1, 9, 11, 40, 45, 50]) {
        assert.ok(doc.supported_nips.includes(nip), `NIP-${nip}`);
      }
      assert.equal(doc.supported_nips.includes(43), false);
      assert.equal(doc.limitation.max_subscriptions, relay.config.maxSubscriptions);
      assert.equal(doc.limitation.max_message_length, relay.config.maxMessageLength);
      assert.equal(doc.limitation.max_limit, relay.config.maxLimit);
    });

    await t.step("CORS preflight", async () => {
      const res = await fetch(relay.httpUrl, { method: "OPTIONS" });
      await res.body?.cancel();
      assert.ok(res.status === 204 || res.status === 200);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
    });

    await t.step("healthz", async () => {
      const res = await fetch(`${relay.httpUrl}/healthz`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    });

    await t.step(
      "a connection's Redis state exists while open and is removed on close",
      async () => {
        const c = await TestClient.connect(relay.url);
        await c.req("s1", { kinds: [1] });
        const [cid] = await relay.redis.smembers(relay.keys.connections);
        assert.ok(cid);
        assert.deepEqual(await relay.redis.smembers(relay.keys.clientReqs(cid)), ["s1"]);
        assert.ok(await relay.redis.hget(relay.keys.subscriptions, `${cid}:s1`));
        assert.equal(await relay.redis.hget(relay.keys.connectionsIps, cid), "127.0.0.1");
        assert.ok(await relay.redis.hget(relay.keys.connectionsStarts, cid));
        await c.close();
        const deadline = Date.now() + 5000;
        while (await relay.redis.sismember(relay.keys.connections, cid) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(await relay.redis.sismember(relay.keys.connections, cid), 0);
        assert.equal(await relay.redis.exists(relay.keys.clientReqs(cid)), 0);
        assert.equal(await relay.redis.hget(relay.keys.subscriptions, `${cid}:s1`), null);
        assert.equal(await relay.redis.hget(relay.keys.connectionsIps, cid), null);
      },
    );
  },
});
