import assert from "node:assert/strict";
import type { NostrEvent } from "../lib/nostr/event.ts";
import {
  newSigner,
  nowSeconds,
  storedIds,
  type WorkerFixture,
  workerSuite,
} from "./_test_helpers.ts";

const suite = workerSuite();
const NEWER = "duplicate: a newer version of this event is stored";

/** Ids stored for `pubkey` and `kind`. */
async function versions(fx: WorkerFixture, pubkey: string, kind: number): Promise<string[]> {
  const rows = await fx.sql`select encode(e.event_id, 'hex') as id from events e
    join authors a on a.id = e.author_id
    where a.pubkey = decode(${pubkey}, 'hex') and e.kind = ${kind} order by e.created_at desc`;
  return rows.map((r) => r.id as string);
}

/** Two events of the same coordinate and created_at, ordered [lower id, higher id]. */
function tiedPair(template: { kind: number; tags?: string[][] }): [NostrEvent, NostrEvent] {
  const s = newSigner();
  const t = nowSeconds() - 10;
  const a = s.sign({ ...template, created_at: t, content: "one" });
  const b = s.sign({ ...template, created_at: t, content: "two" });
  return a.id < b.id ? [a, b] : [b, a];
}

suite.test("newEvent() replaces a replaceable event with a newer version", async (fx) => {
  const s = newSigner();
  const t = nowSeconds();
  const old = s.sign({ kind: 0, content: "{}", created_at: t - 10 });
  const next = s.sign({ kind: 0, content: '{"name":"x"}', created_at: t - 5 });
  assert.deepEqual(await fx.publish(old), [true, ""]);
  assert.deepEqual(await fx.publish(next), [true, ""]);
  assert.deepEqual(await versions(fx, s.pubkey, 0), [next.id]);
  const list = s.sign({ kind: 10002, tags: [["r", "wss://a"]], created_at: t - 5 });
  const list2 = s.sign({ kind: 10002, tags: [["r", "wss://b"]], created_at: t - 1 });
  assert.deepEqual(await fx.publish(list), [true, ""]);
  assert.deepEqual(await fx.publish(list2), [true, ""]);
  assert.deepEqual(await versions(fx, s.pubkey, 10002), [list2.id]);
  assert.deepEqual(await versions(fx, s.pubkey, 0), [next.id], "other kinds untouched");
});

suite.test("newEvent() refuses an older replaceable version arriving late", async (fx) => {
  const s = newSigner();
  const t = nowSeconds();
  const next = s.sign({ kind: 3, created_at: t - 5 });
  const old = s.sign({ kind: 3, created_at: t - 10 });
  assert.deepEqual(await fx.publish(next), [true, ""]);
  fx.replies.drain(fx.keys.liveChannel);
  assert.deepEqual(await fx.publish(old), [false, NEWER]);
  await fx.replies.expectNothingMore(fx.redis, fx.keys.liveChannel);
  assert.deepEqual(await versions(fx, s.pubkey, 3), [next.id]);
});

suite.test("newEvent() keeps the lowest id on equal created_at (lower id arrives second)", async (fx) => {
  const [low, high] = tiedPair({ kind: 0 });
  assert.deepEqual(await fx.publish(high), [true, ""]);
  assert.deepEqual(await fx.publish(low), [true, ""]);
  assert.deepEqual(await versions(fx, low.pubkey, 0), [low.id]);
});

suite.test("newEvent() keeps the lowest id on equal created_at (lower id arrives first)", async (fx) => {
  const [low, high] = tiedPair({ kind: 0 });
  assert.deepEqual(await fx.publish(low), [true, ""]);
  assert.deepEqual(await fx.publish(high), [false, NEWER]);
  assert.deepEqual(await versions(fx, low.pubkey, 0), [low.id]);
});

suite.test("newEvent() ends with exactly the winner when versions arrive concurrently", async (fx) => {
  const rounds = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
    const s = newSigner();
    const t = nowSeconds() - 100;
    const kind = i % 2 ? 10000 : 30000;
    const tags = kind === 30000 ? [["d", "same"]] : [];
    const events = [
      s.sign({ kind, tags, created_at: t }),
      s.sign({ kind, tags, created_at: t + 1 }),
    ];
    events.push(s.sign({ kind, tags, created_at: t + 1, content: "tie" }));
    const winner = [...events].sort((a, b) =>
      b.created_at - a.created_at || (a.id < b.id ? -1 : 1)
    )[0]!;
    const replies = await Promise.all(events.map((e) => fx.publish(e)));
    return { s, kind, events, winner, replies };
  }));
  for (const { s, kind, events, winner, replies } of rounds) {
    assert.deepEqual(await versions(fx, s.pubkey, kind), [winner.id]);
    events.forEach((e, i) => {
      if (e === winner) assert.deepEqual(replies[i], [true, ""]);
      else assert.ok(replies[i]![0] || replies[i]![1] === NEWER, `unexpected ${replies[i]}`);
    });
  }
});

suite.test('newEvent() keeps one addressable version per d tag, a missing d equal to ""', async (fx) => {
  const s = newSigner();
  const t = nowSeconds() - 50;
  const a1 = s.sign({ kind: 30023, tags: [["d", "a"]], created_at: t });
  const b1 = s.sign({ kind: 30023, tags: [["d", "b"]], created_at: t });
  const a2 = s.sign({ kind: 30023, tags: [["d", "a"]], created_at: t + 1 });
  const upperA = s.sign({ kind: 30023, tags: [["d", "A"]], created_at: t });
  for (const e of [a1, b1, a2, upperA]) assert.deepEqual(await fx.publish(e), [true, ""]);
  assert.deepEqual((await versions(fx, s.pubkey, 30023)).sort(), [a2.id, b1.id, upperA.id].sort());
  const noD = s.sign({ kind: 30023, tags: [], created_at: t + 2 });
  const emptyD = s.sign({ kind: 30023, tags: [["d", ""]], created_at: t + 3 });
  const olderNoD = s.sign({ kind: 30023, tags: [["title", "x"]], created_at: t + 1 });
  assert.deepEqual(await fx.publish(noD), [true, ""]);
  assert.deepEqual(await fx.publish(emptyD), [true, ""]);
  assert.deepEqual(await fx.publish(olderNoD), [false, NEWER]);
  const [row] = await fx.sql`select d_tag from events where event_id = decode(${emptyD.id}, 'hex')`;
  assert.equal(row?.d_tag, "");
  assert.equal((await storedIds(fx.sql, 30023)).includes(noD.id), false);
});

suite.test("newEvent() lets a version replace a stored one that has expired", async (fx) => {
  const s = newSigner();
  const t = nowSeconds();
  const expiring = s.sign({ kind: 0, created_at: t, tags: [["expiration", String(t + 100)]] });
  assert.deepEqual(await fx.publish(expiring), [true, ""]);
  const older = s.sign({ kind: 0, created_at: t - 1 });
  const later = () => t + 200;
  assert.deepEqual(await fx.publish(older, { deps: { now: later } }), [true, ""]);
  assert.deepEqual(await versions(fx, s.pubkey, 0), [older.id]);
});

suite.end();
