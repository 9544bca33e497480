/** REQ, CLOSE and COUNT over a websocket: NIP-01 filter semantics, ordering and live delivery. */
import assert from "node:assert/strict";
import type { NostrEvent } from "../lib/nostr/event.ts";
import { now, signer, TestClient } from "./_client.ts";
import { startRelay } from "./_harness.ts";

Deno.test({
  name: "REQ - filters, ordering, live delivery",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using relay = await startRelay({
      NIP_11_MAX_SUBSCRIPTIONS: "5",
      NIP_11_MAX_FILTER_LIMIT: "50",
    });
    await using c = await TestClient.connect(relay.url);
    const alice = signer();
    const bob = signer();
    const base = now() - 10_000;
    const target = "a".repeat(64);
    const other = "b".repeat(64);
    const notes: NostrEvent[] = [];
    for (let i = 0; i < 10; i++) {
      const tags = [["t", i % 2 ? "odd" : "even"], ["e", i < 5 ? target : other]];
      if (i % 3 === 0) tags.push(["p", bob.pubkey]);
      notes.push((i % 2 ? bob : alice).sign({ content: `n${i}`, tags, created_at: base + i }));
    }
    for (const e of notes) assert.equal((await c.publish(e))[2], true);
    const ids = (es: NostrEvent[]) => es.map((e) => e.content);

    await t.step("stored events come newest first, then EOSE", async () => {
      const { events } = await c.query("all", { kinds: [1], since: base });
      assert.deepEqual(ids(events), ["n9", "n8", "n7", "n6", "n5", "n4", "n3", "n2", "n1", "n0"]);
    });

    await t.step("authors, kinds and ids filters", async () => {
      assert.deepEqual(ids((await c.query("a", { authors: [alice.pubkey], kinds: [1] })).events), [
        "n8",
        "n6",
        "n4",
        "n2",
        "n0",
      ]);
      assert.deepEqual(ids((await c.query("i", { ids: [notes[3]!.id, notes[7]!.id] })).events), [
        "n7",
        "n3",
      ]);
      assert.deepEqual((await c.query("k", { kinds: [7], since: base })).events, []);
    });

    await t.step("since and until are inclusive", async () => {
      assert.deepEqual(ids((await c.query("w", { since: base + 3, until: base + 5 })).events), [
        "n5",
        "n4",
        "n3",
      ]);
    });

    await t.step("two tag conditions in one filter AND together", async () => {
      const { events } = await c.query("tags", { "#t": ["even"], "#e": [target] });
      assert.deepEqual(ids(events), ["n4", "n2", "n0"]);
      const { events: withP } = await c.query("tags2", { "#p": [bob.pubkey], "#t": ["odd"] });
      assert.deepEqual(ids(withP), ["n9", "n3"]);
    });

    await t.step("tag values match exactly and case-sensitively", async () => {
      assert.deepEqual((await c.query("case", { "#t": ["EVEN"] })).events, []);
      assert.deepEqual((await c.query("prefix", { "#t": ["ev"] })).events, []);
    });

    await t.step("limit takes the newest n; limit 0 returns no stored events", async () => {
      assert.deepEqual(ids((await c.query("l", { kinds: [1], since: base, limit: 3 })).events), [
        "n9",
        "n8",
        "n7",
      ]);
      assert.deepEqual((await c.query("l0", { kinds: [1], limit: 0 })).events, []);
    });

    await t.step("limit is clamped to max_limit", async () => {
      const many: NostrEvent[] = [];
      for (let i = 0; i < 60; i++) {
        many.push(alice.sign({ kind: 1111, created_at: base + 100 + i }));
      }
      for (const e of many) c.send(["EVENT", e]);
      for (const e of many) await c.ok(e.id);
      assert.equal((await c.query("cap", { kinds: [1111], limit: 500 })).events.length, 50);
    });

    await t.step("several filters OR together without duplicates", async () => {
      const { events } = await c.query("or", { ids: [notes[0]!.id] }, {
        "#t": ["even"],
        until: base + 2,
      });
      assert.deepEqual(ids(events), ["n2", "n0"]);
    });

    await t.step("an empty list matches nothing", async () => {
      assert.deepEqual((await c.query("empty", { authors: [] })).events, []);
    });

    await t.step("live events arrive after EOSE and only when they match", async () => {
      await c.req("live", { authors: [alice.pubkey], "#t": ["live"] });
      const miss = bob.sign({ tags: [["t", "live"]] });
      const hit = alice.sign({ tags: [["t", "live"]] });
      await c.publish(miss);
      await c.publish(hit);
      await c.live("live", hit.id);
      assert.equal(
        c.frames.some((f) => f[0] === "EVENT" && f[1] === "live" && f[2].id === miss.id),
        false,
      );
    });

    await t.step("CLOSE stops delivery", async () => {
      await c.req("gone", { "#t": ["closing"] });
      await c.req("stays", { "#t": ["marker"] });
      c.send(["CLOSE", "gone"]);
      const after = alice.sign({ tags: [["t", "closing"]] });
      await c.publish(after);
      const marker = alice.sign({ tags: [["t", "marker"]] });
      await c.publish(marker);
      await c.live("stays", marker.id);
      assert.equal(c.frames.some((f) => f[1] === "gone" && f[0] === "EVENT"), false);
      c.send(["CLOSE", "stays"]);
      c.send(["CLOSE", "live"]);
    });

    await t.step("a REQ with an open id replaces the subscription", async () => {
      await c.req("re", { "#t": ["first"] });
      await c.req("re", { "#t": ["second"] });
      const first = alice.sign({ tags: [["t", "first"]] });
      const second = alice.sign({ tags: [["t", "second"]] });
      await c.publish(first);
      await c.publish(second);
      await c.live("re", second.id);
      assert.equal(
        c.frames.some((f) => f[0] === "EVENT" && f[1] === "re" && f[2].id === first.id),
        false,
      );
    });

    await t.step("more than max_subscriptions open is refused with CLOSED", async () => {
      await using d = await TestClient.connect(relay.url);
      for (let i = 0; i < 5; i++) await d.req(`s${i}`, { kinds: [9] });
      const res = await d.query("s5", { kinds: [9] });
      assert.match(res.closed ?? "", /^error: too many open subscriptions/);
      d.send(["CLOSE", "s0"]);
      assert.equal((await d.query("s6", { kinds: [9] })).closed, undefined);
    });

    await t.step("no event is lost or duplicated across the stored-to-live boundary", async () => {
      await using pub = await TestClient.connect(relay.url);
      await using sub = await TestClient.connect(relay.url);
      const carol = signer();
      const burst = Array.from(
        { length: 150 },
        (_, i) => carol.sign({ content: `b${i}`, created_at: base + 500 + i }),
      );
      const half = burst.length / 2;
      for (const e of burst.slice(0, half)) pub.send(["EVENT", e]);
      sub.send(["REQ", "edge", { authors: [carol.pubkey], limit: 1000 }]);
      for (const e of burst.slice(half)) pub.send(["EVENT", e]);
      for (const e of burst) assert.equal((await pub.ok(e.id))[2], true);
      await sub.next((f) => f[0] === "EOSE" && f[1] === "edge");
      for (const e of burst) {
        await sub.next((f) => f[0] === "EVENT" && f[1] === "edge" && f[2].id === e.id);
      }
      const seen = sub.frames.filter((f) => f[0] === "EVENT" && f[1] === "edge").map((f) =>
        f[2].id
      );
      assert.equal(seen.length, burst.length, "each event delivered exactly once");
      assert.equal(new Set(seen).size, burst.length);
    });

    await t.step("COUNT counts matching events across filters once", async () => {
      c.send(["COUNT", "cnt", { authors: [alice.pubkey], kinds: [1], until: base + 9 }, {
        ids: [notes[0]!.id, notes[1]!.id],
      }]);
      const res = await c.next((f) => f[0] === "COUNT" && f[1] === "cnt");
      assert.deepEqual(res, ["COUNT", "cnt", { count: 6 }]);
    });

    await t.step("NIP-50 search over stored and live events", async () => {
      const hit = alice.sign({ content: "The quick brown fox jumps" });
      await c.publish(hit);
      await c.publish(alice.sign({ content: "lazy dog sleeps" }));
      const { events } = await c.req("s", { search: "brown fox" });
      assert.deepEqual(events.map((e) => e.id), [hit.id]);
      const liveHit = bob.sign({ content: "another brown fox appears" });
      await c.publish(bob.sign({ content: "a red fox" }));
      await c.publish(liveHit);
      await c.live("s", liveHit.id);
      assert.equal(c.frames.filter((f) => f[0] === "EVENT" && f[1] === "s").length, 2);
    });
  },
});
