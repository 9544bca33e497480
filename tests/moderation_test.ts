/**
 * Moderation end to end: NIP-86 calls signed with NIP-98 over HTTP on the relay URL, against the
 * real web process and worker; each ban takes effect on the very next message or connection.
 */
import assert from "node:assert/strict";
import { getToken } from "nostr-tools/nip98";
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { signer, TestClient } from "./_client.ts";
import { startRelay } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const NIP86 = "application/nostr+json+rpc";

Deno.test({
  ...opts,
  name: "moderation over NIP-86 - bans, kinds, relay info and blocked IPs apply at once",
  async fn(t) {
    const admin = generateSecretKey();
    await using relay = await startRelay({ ADMIN_PUBKEYS: getPublicKey(admin) });
    const url = `${relay.httpUrl}/`;

    /** Calls NIP-86 `method` as `sk`; returns the HTTP status and the JSON answer. */
    async function rpc(method: string, params: unknown[] = [], sk = admin) {
      const payload = { method, params };
      const token = await getToken(url, "POST", (e) => finalizeEvent(e, sk), true, payload);
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": NIP86, authorization: token },
        body: JSON.stringify(payload),
      });
      return { status: res.status, body: await res.json() };
    }

    async function nip11() {
      const res = await fetch(url, { headers: { accept: "application/nostr+json" } });
      return await res.json();
    }

    await t.step("NIP-11 lists 86; a non-admin gets 401", async () => {
      assert.ok((await nip11()).supported_nips.includes(86));
      const res = await rpc("supportedmethods", [], generateSecretKey());
      assert.equal(res.status, 401);
      assert.match(res.body.error, /^unauthorized: /);
    });

    await t.step(
      "banpubkey: the pubkey's next EVENT is refused, others still publish",
      async () => {
        await using c = await TestClient.connect(relay.url);
        const spammer = signer();
        const friend = signer();
        assert.equal((await c.publish(spammer.sign({ content: "before" })))[2], true);
        assert.deepEqual((await rpc("banpubkey", [spammer.pubkey, "spam"])).body, { result: true });
        const refused = await c.publish(spammer.sign({ content: "after" }));
        assert.deepEqual(refused.slice(2), [false, "blocked: this pubkey is banned"]);
        assert.equal((await c.publish(friend.sign({})))[2], true);
        assert.deepEqual((await rpc("listbannedpubkeys")).body, {
          result: [{ pubkey: spammer.pubkey, reason: "spam" }],
        });
        assert.deepEqual((await rpc("unbanpubkey", [spammer.pubkey])).body, { result: true });
        assert.equal((await c.publish(spammer.sign({ content: "forgiven" })))[2], true);
      },
    );

    await t.step("banevent: the event is no longer served and cannot come back", async () => {
      await using c = await TestClient.connect(relay.url);
      const author = signer();
      const bad = author.sign({ content: "bad", tags: [["t", "moderation-e2e"]] });
      const good = author.sign({ content: "good", tags: [["t", "moderation-e2e"]] });
      await c.publish(bad);
      await c.publish(good);
      const before = await c.query("q1", { "#t": ["moderation-e2e"] });
      assert.deepEqual(before.events.map((e) => e.id).sort(), [bad.id, good.id].sort());
      assert.deepEqual((await rpc("banevent", [bad.id, "illegal"])).body, { result: true });
      const after = await c.query("q2", { "#t": ["moderation-e2e"] });
      assert.deepEqual(after.events.map((e) => e.id), [good.id]);
      assert.deepEqual((await c.query("q3", { ids: [bad.id] })).events, []);
      const again = await c.publish(bad);
      assert.deepEqual(again.slice(2), [false, "blocked: this event is banned"]);
    });

    await t.step("disallowkind / allowkind: refused kinds answer blocked:", async () => {
      await using c = await TestClient.connect(relay.url);
      const who = signer();
      assert.deepEqual((await rpc("disallowkind", [7])).body, { result: true });
      const reaction = await c.publish(who.sign({ kind: 7, content: "+" }));
      assert.deepEqual(reaction.slice(2), [false, "blocked: kind 7 is not allowed on this relay"]);
      assert.deepEqual((await rpc("allowkind", [1])).body, { result: true });
      const article = await c.publish(who.sign({ kind: 30023, tags: [["d", "x"]] }));
      assert.deepEqual(article.slice(2), [
        false,
        "blocked: kind 30023 is not allowed on this relay",
      ]);
      assert.equal((await c.publish(who.sign({ kind: 1 })))[2], true);
      assert.deepEqual((await rpc("listallowedkinds")).body, { result: [1] });
      assert.deepEqual((await rpc("listdisallowedkinds")).body, { result: [7] });
      await relay.sql`delete from kind_policy`;
      await relay.redis.publish(relay.keys.moderationChannel, "reset");
    });

    await t.step("changerelayname: the NIP-11 document shows it at once", async () => {
      assert.deepEqual((await rpc("changerelayname", ["Moderated"])).body, { result: true });
      assert.deepEqual((await rpc("changerelaydescription", ["Be nice"])).body, { result: true });
      const doc = await nip11();
      assert.equal(doc.name, "Moderated");
      assert.equal(doc.description, "Be nice");
    });

    await t.step(
      "blockip: live connections from it close, new ones are refused with 3403",
      async () => {
        const live = await TestClient.connect(relay.url);
        assert.deepEqual((await rpc("blockip", ["127.0.0.1", "test"])).body, { result: true });
        const first = await live.closed();
        assert.equal(first.code, 3403);
        assert.equal(first.reason, "blocked: this IP address is blocked");
        const late = await TestClient.connect(relay.url);
        const refused = await late.closed();
        assert.equal(refused.code, 3403);
        assert.equal(refused.reason, "blocked: this IP address is blocked");
        assert.deepEqual((await rpc("unblockip", ["127.0.0.1"])).body, { result: true });
        await using again = await TestClient.connect(relay.url);
        assert.equal((await again.publish(signer().sign({})))[2], true);
      },
    );
  },
});
