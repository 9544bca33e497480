/** EVENT over a websocket, through the real worker and Postgres: storage rules of NIP-01/09/40. */
import assert from "node:assert/strict";
import { now, signer, TestClient } from "./_client.ts";
import { startRelay } from "./_harness.ts";

Deno.test({
  name: "EVENT - storage rules end to end",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using relay = await startRelay();
    await using c = await TestClient.connect(relay.url);
    const alice = signer();
    const bob = signer();

    await t.step("a regular event is acknowledged after it is stored", async () => {
      const e = alice.sign({ content: "stored" });
      assert.deepEqual(await c.publish(e), ["OK", e.id, true, ""]);
      const [row] = await relay.sql`select raw from events where event_id = decode(${e.id}, 'hex')`;
      assert.deepEqual(JSON.parse(row!.raw), e);
    });

    await t.step("a second copy is answered duplicate: and stored once", async () => {
      const e = alice.sign({ content: "twice" });
      await c.publish(e);
      const again = await c.publish(e);
      assert.equal(again[2], false);
      assert.match(again[3], /^duplicate: /);
      const [row] = await relay
        .sql`select count(*)::int as n from events where event_id = decode(${e.id}, 'hex')`;
      assert.equal(row!.n, 1);
    });

    await t.step("a bad signature is refused with invalid:", async () => {
      const e = alice.sign({ content: "forged" });
      const forged = { ...e, sig: e.sig.slice(0, -2) + (e.sig.endsWith("00") ? "11" : "00") };
      assert.deepEqual(await c.publish(forged), ["OK", e.id, false, "invalid: bad signature"]);
    });

    await t.step("an id that does not match the content is refused", async () => {
      const e = alice.sign({ content: "original" });
      const tampered = { ...e, content: "tampered" };
      assert.deepEqual(await c.publish(tampered), [
        "OK",
        e.id,
        false,
        "invalid: event id does not match its content",
      ]);
    });

    await t.step("replaceable kinds keep only the newest version", async () => {
      const t0 = now() - 100;
      const v1 = alice.sign({ kind: 0, content: '{"name":"v1"}', created_at: t0 });
      const v2 = alice.sign({ kind: 0, content: '{"name":"v2"}', created_at: t0 + 10 });
      assert.equal((await c.publish(v1))[2], true);
      assert.equal((await c.publish(v2))[2], true);
      const late = alice.sign({ kind: 0, content: '{"name":"old"}', created_at: t0 + 5 });
      const refused = await c.publish(late);
      assert.equal(refused[2], false);
      assert.match(refused[3], /^duplicate: /);
      const { events } = await c.query("r0", { authors: [alice.pubkey], kinds: [0] });
      assert.deepEqual(events.map((e) => e.id), [v2.id]);
    });

    await t.step("replaceable ties keep the lowest id", async () => {
      const at = now() - 50;
      const a = bob.sign({ kind: 10002, tags: [["r", "wss://a.example"]], created_at: at });
      const b = bob.sign({ kind: 10002, tags: [["r", "wss://b.example"]], created_at: at });
      const [low, high] = a.id < b.id ? [a, b] : [b, a];
      assert.equal((await c.publish(high))[2], true);
      assert.equal((await c.publish(low))[2], true);
      assert.equal((await c.publish(high))[2], false);
      const { events } = await c.query("r1", { authors: [bob.pubkey], kinds: [10002] });
      assert.deepEqual(events.map((e) => e.id), [low.id]);
    });

    await t.step('addressable kinds are replaced per d tag; a missing d equals d=""', async () => {
      const at = now() - 40;
      const x1 = alice.sign({ kind: 30023, tags: [["d", "x"]], content: "x1", created_at: at });
      const y1 = alice.sign({ kind: 30023, tags: [["d", "y"]], content: "y1", created_at: at });
      const x2 = alice.sign({ kind: 30023, tags: [["d", "x"]], content: "x2", created_at: at + 1 });
      const e1 = alice.sign({ kind: 30023, content: "no d", created_at: at });
      const e2 = alice.sign({
        kind: 30023,
        tags: [["d", ""]],
        content: "empty d",
        created_at: at + 1,
      });
      for (const e of [x1, y1, x2, e1, e2]) assert.equal((await c.publish(e))[2], true, e.content);
      const { events } = await c.query("r2", { authors: [alice.pubkey], kinds: [30023] });
      assert.deepEqual(new Set(events.map((e) => e.id)), new Set([x2.id, y1.id, e2.id]));
    });

    await t.step("ephemeral events reach live subscribers and are not stored", async () => {
      await using sub = await TestClient.connect(relay.url);
      await sub.req("live", { kinds: [20001] });
      const e = alice.sign({ kind: 20001, content: "now or never" });
      assert.deepEqual(await c.publish(e), ["OK", e.id, true, ""]);
      await sub.live("live", e.id);
      const { events } = await c.query("r3", { kinds: [20001] });
      assert.deepEqual(events, []);
    });

    await t.step("NIP-09: e-tag deletion removes own events and blocks re-insert", async () => {
      const mine = alice.sign({ content: "to delete" });
      const theirs = bob.sign({ content: "not alice's" });
      await c.publish(mine);
      await c.publish(theirs);
      const del = alice.sign({ kind: 5, tags: [["e", mine.id], ["e", theirs.id]] });
      assert.equal((await c.publish(del))[2], true);
      const { events } = await c.query("r4", { ids: [mine.id, theirs.id, del.id] });
      assert.deepEqual(new Set(events.map((e) => e.id)), new Set([theirs.id, del.id]));
      const again = await c.publish(mine);
      assert.equal(again[2], false);
      assert.match(again[3], /^blocked: /);
    });

    await t.step("NIP-09: a deletion of a deletion has no effect", async () => {
      const note = alice.sign({ content: "x" });
      await c.publish(note);
      const del = alice.sign({ kind: 5, tags: [["e", note.id]] });
      await c.publish(del);
      await c.publish(alice.sign({ kind: 5, tags: [["e", del.id]] }));
      const { events } = await c.query("r5", { ids: [del.id] });
      assert.equal(events.length, 1);
    });

    await t.step("NIP-09: a-tag deletion removes versions up to its created_at", async () => {
      const at = now() - 30;
      const v = bob.sign({ kind: 30000, tags: [["d", "list"]], created_at: at });
      await c.publish(v);
      const del = bob.sign({
        kind: 5,
        tags: [["a", `30000:${bob.pubkey}:list`]],
        created_at: at + 5,
      });
      assert.equal((await c.publish(del))[2], true);
      assert.deepEqual((await c.query("r6", { authors: [bob.pubkey], kinds: [30000] })).events, []);
      const older = bob.sign({ kind: 30000, tags: [["d", "list"]], created_at: at + 2 });
      assert.match((await c.publish(older))[3], /^blocked: /);
      const newer = bob.sign({ kind: 30000, tags: [["d", "list"]], created_at: at + 10 });
      assert.equal((await c.publish(newer))[2], true);
    });

    await t.step("NIP-40: an event that has expired is refused", async () => {
      const e = alice.sign({ tags: [["expiration", String(now() - 1)]] });
      const ok = await c.publish(e);
      assert.equal(ok[2], false);
      assert.match(ok[3], /^invalid: /);
    });

    await t.step("NIP-40: an event stops being served once it expires", async () => {
      const e = alice.sign({ tags: [["expiration", String(now() + 2)]] });
      assert.equal((await c.publish(e))[2], true);
      assert.equal((await c.query("r7", { ids: [e.id] })).events.length, 1);
      const deadline = Date.now() + 10_000;
      let served = 1;
      for (let i = 0; served && Date.now() < deadline; i++) {
        await new Promise((r) => setTimeout(r, 250));
        served = (await c.query(`r7-${i}`, { ids: [e.id] })).events.length;
      }
      assert.equal(served, 0);
    });

    await t.step("created_at too far in the future is refused", async () => {
      const e = alice.sign({ created_at: now() + 3600 });
      const ok = await c.publish(e);
      assert.equal(ok[2], false);
      assert.match(ok[3], /^invalid: created_at/);
    });

    await t.step(
      "NIP-70: a protected event from an unauthenticated connection is refused",
      async () => {
        const e = alice.sign({ tags: [["-"]] });
        const ok = await c.publish(e);
        assert.equal(ok[2], false);
        assert.match(ok[3], /^auth-required: /);
      },
    );
  },
});

Deno.test({
  name: "EVENT - NIP-13 minimum proof of work",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using relay = await startRelay({ NIP_13_MIN_POW: "8" });
    await using c = await TestClient.connect(relay.url);
    const alice = signer();
    let weak = alice.sign({ content: "weak" });
    while (weak.id.startsWith("00")) weak = alice.sign({ content: "weak" });
    const ok = await c.publish(weak);
    assert.equal(ok[2], false);
    assert.match(ok[3], /^pow: /);
    let strong = alice.sign({ content: "strong", tags: [["nonce", "0", "8"]] });
    for (let n = 1; !strong.id.startsWith("00"); n++) {
      strong = alice.sign({
        content: "strong",
        tags: [["nonce", String(n), "8"]],
        created_at: strong.created_at,
      });
    }
    assert.deepEqual(await c.publish(strong), ["OK", strong.id, true, ""]);
  },
});
