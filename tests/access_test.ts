/**
 * Access control end to end: NIP-42, fast auth, auth levels computed by the worker, per-command
 * levels, DM privacy, NIP-70, and the relay modes an operator gets purely from configuration.
 */
import assert from "node:assert/strict";
import { encodeReply } from "../lib/contract.ts";
import { now, signer, TestClient } from "./_client.ts";
import { startRelay } from "./_harness.ts";
import {
  authenticate,
  authEvent,
  challengeOf,
  fastAuthUrl,
  grant,
  recomputeLevels,
  RELAY_URL,
  waitForRedis,
} from "./_auth.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  ...opts,
  name: "open relay - NIP-42, DM privacy, NIP-70",
  async fn(t) {
    await using relay = await startRelay({ RELAY_URL });
    const alice = signer();
    const bob = signer();
    const eve = signer();

    await t.step("the challenge is sent on connect and AUTH is answered OK true", async () => {
      await using c = await TestClient.connect(relay.url);
      const ok = await authenticate(c, alice);
      assert.equal(ok[2], true);
      assert.equal(ok[3], "");
      const [cid] = await relay.redis.smembers(relay.keys.connections);
      assert.equal(await relay.redis.hget(relay.keys.authentications, cid!), alice.pubkey);
      assert.equal(await relay.redis.hget(relay.keys.authorizations, cid!), "1");
    });

    await t.step(
      "AUTH with a wrong challenge, relay, kind or time is refused with OK false",
      async () => {
        await using c = await TestClient.connect(relay.url);
        const challenge = await challengeOf(c);
        const bad = [
          authEvent(alice, "not-the-challenge"),
          authEvent(alice, challenge, { relay: "wss://elsewhere.example" }),
          authEvent(alice, challenge, { kind: 1 }),
          authEvent(alice, challenge, { created_at: now() - 3600 }),
        ];
        for (const e of bad) {
          c.send(["AUTH", e]);
          const ok = await c.ok(e.id);
          assert.equal(ok[2], false);
          assert.match(ok[3], /^invalid: /);
        }
        const good = authEvent(alice, challenge);
        c.send(["AUTH", good]);
        assert.deepEqual(await c.ok(good.id), ["OK", good.id, true, ""]);
      },
    );

    await t.step("a REQ for DMs needs authentication and only serves participants", async () => {
      await using sender = await TestClient.connect(relay.url);
      const dm = alice.sign({ kind: 4, tags: [["p", bob.pubkey]], content: "secret?iv=x" });
      const wrap = eve.sign({ kind: 1059, tags: [["p", bob.pubkey]], content: "wrapped" });
      assert.equal((await sender.publish(dm))[2], true);
      assert.equal((await sender.publish(wrap))[2], true);

      await using anon = await TestClient.connect(relay.url);
      const refused = await anon.query("dm", { kinds: [4] });
      assert.match(refused.closed ?? "", /^auth-required: /);
      const everything = await anon.query("all", { limit: 100 });
      assert.equal(everything.events.some((e) => e.kind === 4 || e.kind === 1059), false);

      await using snoop = await TestClient.connect(relay.url);
      await authenticate(snoop, eve);
      const denied = await snoop.query("dm", { kinds: [4], "#p": [bob.pubkey] });
      assert.match(denied.closed ?? "", /^restricted: /);

      await using recipient = await TestClient.connect(relay.url);
      await authenticate(recipient, bob);
      const mine = await recipient.query("dm", { kinds: [4, 1059], "#p": [bob.pubkey] });
      assert.deepEqual(new Set(mine.events.map((e) => e.id)), new Set([dm.id, wrap.id]));

      await recipient.req("live-dm", { kinds: [4] });
      await snoop.req("live-all", { kinds: [1] });
      const next = alice.sign({ kind: 4, tags: [["p", bob.pubkey]], content: "again?iv=y" });
      await sender.publish(next);
      await recipient.live("live-dm", next.id);
      const marker = alice.sign({ content: "marker" });
      await sender.publish(marker);
      await snoop.live("live-all", marker.id);
      assert.equal(snoop.frames.some((f) => f[0] === "EVENT" && f[2]?.id === next.id), false);
    });

    await t.step(
      "NIP-70: a protected event is accepted only from its authenticated author",
      async () => {
        await using c = await TestClient.connect(relay.url);
        const e = alice.sign({ tags: [["-"]], content: "protected" });
        assert.match((await c.publish(e))[3], /^auth-required: /);
        await authenticate(c, bob);
        assert.match((await c.publish(e))[3], /^auth-required: /);
        await authenticate(c, alice);
        assert.deepEqual(await c.publish(e), ["OK", e.id, true, ""]);
      },
    );

    await t.step(
      "an admin close command closes the connection with its code and reason",
      async () => {
        await using c = await TestClient.connect(relay.url);
        await c.query("x", { kinds: [1], limit: 1 });
        const cids = await relay.redis.smembers(relay.keys.connections);
        for (const cid of cids) {
          await relay.redis.publish(
            relay.keys.connectionChannel(cid),
            encodeReply({
              op: "close",
              code: 3502,
              reason: "restricted: connection was closed by the server",
            }),
          );
        }
        const closed = await c.closed();
        assert.equal(closed.code, 3502);
        assert.equal(closed.reason, "restricted: connection was closed by the server");
      },
    );
  },
});

Deno.test({
  ...opts,
  name: "authenticated-only relay - auth-required until AUTH, exempt kinds pass",
  async fn() {
    await using relay = await startRelay({
      RELAY_URL,
      REQUIRED_AUTH_LEVEL_FOR_REQ: "1",
      REQUIRED_AUTH_LEVEL_FOR_EVENT: "1",
      REQUIRED_AUTH_LEVEL_FOR_COUNT: "1",
    });
    const alice = signer();
    await using c = await TestClient.connect(relay.url);
    const note = alice.sign({ content: "members" });
    assert.deepEqual(await c.publish(note), [
      "OK",
      note.id,
      false,
      "auth-required: this relay requires authentication for EVENT",
    ]);
    assert.equal(
      (await c.query("q", { kinds: [1] })).closed,
      "auth-required: this relay requires authentication for REQ",
    );
    c.send(["COUNT", "n", { kinds: [1] }]);
    const counted = await c.next((f) => f[0] === "CLOSED" && f[1] === "n");
    assert.equal(counted[2], "auth-required: this relay requires authentication for COUNT");
    const relays = alice.sign({ kind: 10002, tags: [["r", "wss://a.example"]] });
    assert.equal((await c.publish(relays))[2], true, "exempt kind 10002 is accepted");
    assert.equal((await c.query("r", { kinds: [10002] })).events.length, 1);
    assert.match((await c.query("mixed", { kinds: [10002, 1] })).closed ?? "", /^auth-required: /);

    const doc =
      await (await fetch(relay.httpUrl, { headers: { Accept: "application/nostr+json" } })).json();
    assert.equal(doc.limitation.auth_required, true);
    assert.ok(doc.supported_nips.includes(42));

    await authenticate(c, alice);
    assert.deepEqual(await c.publish(note), ["OK", note.id, true, ""]);
    assert.deepEqual((await c.query("q2", { kinds: [1] })).events.map((e) => e.id), [note.id]);
  },
});

Deno.test({
  ...opts,
  name: "members-only relay - levels from the database, raised on a live connection",
  async fn() {
    await using relay = await startRelay({ RELAY_URL, REQUIRED_AUTH_LEVEL_FOR_EVENT: "3" });
    const member = signer();
    const stranger = signer();
    await grant(relay, "registered", member.pubkey);

    await using c = await TestClient.connect(relay.url);
    await authenticate(c, member);
    const [cid] = await relay.redis.smembers(relay.keys.connections);
    assert.equal(await relay.redis.hget(relay.keys.authorizations, cid!), "2");
    const note = member.sign({ content: "hello members" });
    assert.deepEqual(await c.publish(note), [
      "OK",
      note.id,
      false,
      "restricted: your account does not have the required authorization level (3)",
    ]);

    await grant(relay, "subscriber", member.pubkey);
    await recomputeLevels(relay, [member.pubkey]);
    const level = await waitForRedis(
      () => relay.redis.hget(relay.keys.authorizations, cid!),
      (v) => v === "3",
    );
    assert.equal(level, "3");
    assert.deepEqual(await c.publish(note), ["OK", note.id, true, ""]);

    await using other = await TestClient.connect(relay.url);
    await authenticate(other, stranger);
    const refused = await other.publish(stranger.sign({ content: "let me in" }));
    assert.match(refused[3], /^restricted: /);
  },
});

Deno.test({
  ...opts,
  name: "trusted-authors-write relay - only level 4 may publish, anyone may read",
  async fn() {
    await using relay = await startRelay({ RELAY_URL, REQUIRED_AUTH_LEVEL_FOR_EVENT: "4" });
    const editor = signer();
    const reader = signer();
    await grant(relay, "trusted", editor.pubkey);
    await using c = await TestClient.connect(relay.url);
    await authenticate(c, editor);
    const post = editor.sign({ content: "official" });
    assert.deepEqual(await c.publish(post), ["OK", post.id, true, ""]);
    await using r = await TestClient.connect(relay.url);
    assert.deepEqual((await r.query("read", { ids: [post.id] })).events.map((e) => e.id), [
      post.id,
    ]);
    await authenticate(r, reader);
    assert.match((await r.publish(reader.sign({ content: "me too" })))[3], /^restricted: /);
  },
});

Deno.test({
  ...opts,
  name: "forced fast auth - refused without it, below the level, or replayed",
  async fn(t) {
    await using relay = await startRelay({ RELAY_URL, FORCED_MIN_AUTH_LEVEL: "2" });
    const member = signer();
    const stranger = signer();
    await grant(relay, "registered", member.pubkey);

    await t.step("no authorization parameter closes with 3403", async () => {
      const c = await TestClient.connect(relay.url);
      const closed = await c.closed();
      assert.equal(closed.code, 3403);
      assert.match(closed.reason, /^restricted: /);
    });

    await t.step("an invalid authorization event closes with 3403", async () => {
      const stale = member.sign({
        kind: 22242,
        created_at: now() - 3600,
        tags: [["relay", RELAY_URL]],
      });
      const c = await TestClient.connect(fastAuthUrl(relay, member, stale));
      const closed = await c.closed();
      assert.equal(closed.code, 3403);
      assert.match(closed.reason, /^restricted: fast auth event has errors/);
    });

    await t.step("a level below the minimum closes with 3403", async () => {
      const c = await TestClient.connect(fastAuthUrl(relay, stranger));
      const closed = await c.closed();
      assert.equal(closed.code, 3403);
      assert.equal(
        closed.reason,
        "restricted: your account doesn't have required authorization (2)",
      );
    });

    await t.step("a member connects; messages sent at once are answered in order", async () => {
      await using c = await TestClient.connect(fastAuthUrl(relay, member));
      const e = member.sign({ content: "first message" });
      c.send(["EVENT", e]);
      c.send(["REQ", "mine", { ids: [e.id] }]);
      assert.deepEqual(await c.ok(e.id), ["OK", e.id, true, ""]);
      await c.next((f) => f[0] === "EOSE" && f[1] === "mine");
      assert.ok(c.frames.some((f) => f[0] === "EVENT" && f[1] === "mine" && f[2].id === e.id));
    });

    await t.step("replaying an authorization event closes both connections", async () => {
      const e = member.sign({
        kind: 22242,
        created_at: now(),
        tags: [["relay", RELAY_URL]],
        content: "replayed",
      });
      const first = await TestClient.connect(fastAuthUrl(relay, member, e));
      await first.query("ping", { kinds: [1], limit: 0 });
      const second = await TestClient.connect(fastAuthUrl(relay, member, e));
      const [a, b] = await Promise.all([first.closed(), second.closed()]);
      for (const closed of [a, b]) {
        assert.equal(closed.code, 3403);
        assert.equal(
          closed.reason,
          `restricted: event id ${e.id} was used for authentication twice`,
        );
      }
    });

    await t.step("NIP-11 says authentication is required", async () => {
      const doc =
        await (await fetch(relay.httpUrl, { headers: { Accept: "application/nostr+json" } }))
          .json();
      assert.equal(doc.limitation.auth_required, true);
      assert.equal(doc.supported_nips.includes(43), false);
    });
  },
});

Deno.test({
  ...opts,
  name: "hot limits - maintenance, max connections, rate limit, unlimited IPs",
  async fn(t) {
    await using relay = await startRelay({
      RATE_LIMITING_MAX_REQUESTS: "5",
      RATE_LIMITING_SLIDING_WINDOW: "60",
    });
    const k = relay.keys;

    await t.step("maintenance refuses new connections and keeps existing ones", async () => {
      await using existing = await TestClient.connect(relay.url);
      await relay.redis.set(k.maintenance, "1");
      const refused = await TestClient.connect(relay.url);
      const closed = await refused.closed();
      assert.equal(closed.code, 3503);
      assert.equal(closed.reason, "restricted: server is on maintenance, please try again later");
      assert.equal((await existing.query("still", { kinds: [1], limit: 1 })).closed, undefined);
      await relay.redis.del(k.maintenance);
    });

    await t.step("max_allowed_connections refuses connections beyond it", async () => {
      await using one = await TestClient.connect(relay.url);
      await one.query("q", { kinds: [1], limit: 0 });
      await relay.redis.set(k.maxAllowedConnections, "1");
      const refused = await TestClient.connect(relay.url);
      const closed = await refused.closed();
      assert.equal(closed.code, 3503);
      assert.equal(closed.reason, "restricted: server is busy, please try again later");
      await relay.redis.del(k.maxAllowedConnections);
    });

    await t.step(
      "the sixth message in the window is rate-limited, every message counts",
      async () => {
        await relay.redis.del(k.rateLimit("127.0.0.1"));
        await using c = await TestClient.connect(relay.url);
        for (let i = 0; i < 5; i++) {
          assert.equal((await c.req(`q${i}`, { kinds: [1], limit: 0 })).closed, undefined);
        }
        const res = await c.req("q5", { kinds: [1], limit: 0 });
        assert.match(res.closed ?? "", /^rate-limited: /);
        const e = signer().sign({ content: "spam" });
        const ok = await c.publish(e);
        assert.equal(ok[2], false);
        assert.match(ok[3], /^rate-limited: /);
      },
    );

    await t.step("an unlimited IP is not rate-limited", async () => {
      await relay.redis.sadd(k.unlimitedIps, "127.0.0.1");
      await using c = await TestClient.connect(relay.url);
      for (let i = 0; i < 10; i++) {
        assert.equal((await c.query(`u${i}`, { kinds: [1], limit: 0 })).closed, undefined);
      }
    });
  },
});
