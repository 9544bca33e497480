import assert from "node:assert/strict";
import { canonicalJson, type NostrEvent } from "../lib/nostr/event.ts";
import { createStoreBatcher } from "./store_batch.ts";
import {
  multiRowEligible,
  storeEvents,
  type StoreItem,
  type StoreOutcome,
  type StoreResult,
} from "./store_event.ts";
import { newSigner, nowSeconds, storedIds, workerSuite } from "./_test_helpers.ts";

const suite = workerSuite();

function item(e: NostrEvent): StoreItem {
  return {
    e,
    opts: { raw: canonicalJson(e), now: nowSeconds(), searchLanguage: "simple", searchKinds: [1] },
  };
}

function outcomes(results: StoreResult[]): (StoreOutcome | string)[] {
  return results.map((r) => r.ok ? r.outcome : `error: ${String(r.error)}`);
}

suite.test("storeEvents() gives each event of a batch the outcome it would have alone", async (fx) => {
  const a = newSigner();
  const b = newSigner();
  const t = nowSeconds() - 100;
  const stored = a.sign({ content: "already stored", created_at: t });
  assert.deepEqual(outcomes(await storeEvents(fx.sql, [item(stored)])), ["stored"]);
  const doomed = b.sign({ content: "deleted before it arrives", created_at: t });
  const tombstone = b.sign({ kind: 5, tags: [["e", doomed.id]], created_at: t + 1 });
  assert.deepEqual(outcomes(await storeEvents(fx.sql, [item(tombstone)])), ["stored"]);

  const note = a.sign({ content: "hello #batch", tags: [["t", "batch"], ["p", b.pubkey]] });
  const expiring = a.sign({ content: "soon gone", tags: [["expiration", String(t + 10_000)]] });
  const old0 = b.sign({ kind: 0, content: "{}", created_at: t });
  const new0 = b.sign({ kind: 0, content: '{"name":"b"}', created_at: t + 5 });
  const newer3 = a.sign({ kind: 3, tags: [["p", b.pubkey]], created_at: t + 5 });
  const older3 = a.sign({ kind: 3, tags: [], created_at: t });
  const victim = a.sign({ content: "deleted in the same batch", created_at: t + 2 });
  const deletion = a.sign({ kind: 5, tags: [["e", victim.id]], created_at: t + 3 });
  const batch = [
    note,
    stored, // stored earlier: duplicate
    note, // second copy in the batch: duplicate
    doomed, // tombstoned: deleted
    expiring,
    old0,
    new0, // replaces old0
    newer3,
    older3, // superseded by newer3
    victim,
    deletion, // deletes victim, which was stored just before in batch order
  ];
  assert.deepEqual(outcomes(await storeEvents(fx.sql, batch.map(item))), [
    "stored",
    "duplicate",
    "duplicate",
    "deleted",
    "stored",
    "stored",
    "stored",
    "stored",
    "superseded",
    "stored",
    "stored",
  ]);
  const ids = new Set(await storedIds(fx.sql));
  for (const e of [stored, note, expiring, new0, newer3, deletion]) assert.ok(ids.has(e.id));
  for (const e of [doomed, old0, older3, victim]) assert.ok(!ids.has(e.id), `${e.id} gone`);
  const [row] = await fx.sql`select e.expires_at,
      (select count(*) from searchable_tags s where s.event_id = e.id)::int as tags,
      (select count(*) from searchable_contents c where c.event_id = e.id)::int as texts
    from events e where e.event_id = decode(${expiring.id}, 'hex')`;
  assert.deepEqual({ ...row }, { expires_at: t + 10_000, tags: 0, texts: 1 });
  const [tags] = await fx.sql`select array_agg(s.name || s.value order by s.name) as tags
    from searchable_tags s join events e on e.id = s.event_id
    where e.event_id = decode(${note.id}, 'hex')`;
  assert.deepEqual(tags!.tags, [`p${b.pubkey}`, "tbatch"]);
  const [search] = await fx.sql`select count(*)::int as n from searchable_contents c
    join events e on e.id = c.event_id
    where c.tsv @@ websearch_to_tsquery('simple', 'hello') and e.event_id = decode(${note.id}, 'hex')`;
  assert.equal(search!.n, 1);
});

suite.test("multiRowEligible() keeps deletions, their authors' events, replaceables and repeats apart", async () => {
  const a = newSigner();
  const b = newSigner();
  const n1 = a.sign({ content: "1" });
  const n2 = b.sign({ content: "2" });
  const del = b.sign({ kind: 5, tags: [["e", n1.id]] });
  const meta = a.sign({ kind: 0, content: "{}" });
  const list = [n1, n2, del, meta, n1, a.sign({ kind: 20001 })].map(item);
  assert.deepEqual(multiRowEligible(list), [0]);
  await Promise.resolve();
});

suite.test("storeEvents() in concurrent batches with the same events stores each once", async (fx) => {
  const s = newSigner();
  const events = Array.from({ length: 30 }, (_, i) => s.sign({ content: `race ${i}` }));
  const reversed = [...events].reverse();
  const [one, two] = await Promise.all([
    storeEvents(fx.sql, events.map(item)),
    storeEvents(fx.sql, reversed.map(item)),
  ]);
  const firstRun = outcomes(one);
  const secondRun = outcomes(two).reverse();
  for (let i = 0; i < events.length; i++) {
    assert.deepEqual(
      [firstRun[i], secondRun[i]].sort(),
      ["duplicate", "stored"],
      `event ${i}: ${firstRun[i]} / ${secondRun[i]}`,
    );
  }
  const rows = await fx.sql`select count(*)::int as n from events e join authors a
    on a.id = e.author_id where a.pubkey = decode(${s.pubkey}, 'hex')`;
  assert.equal(rows[0]!.n, events.length);
});

suite.test("the batcher groups concurrent events and settles each with its own outcome", async (fx) => {
  const batcher = createStoreBatcher(fx.sql, { maxBatch: 8, maxInFlight: 2 });
  const s = newSigner();
  const events = Array.from({ length: 40 }, (_, i) => s.sign({ content: `grouped ${i}` }));
  const first = await Promise.all(events.map((e) => batcher.store(e, item(e).opts)));
  assert.deepEqual(first, events.map(() => "stored"));
  const again = await Promise.all(events.slice(0, 5).map((e) => batcher.store(e, item(e).opts)));
  assert.deepEqual(again, events.slice(0, 5).map(() => "duplicate"));
  await batcher.drain();
  assert.equal(batcher.stats.events, 45);
  assert.ok(batcher.stats.batches < 45, `${batcher.stats.batches} batches for 45 events`);
  assert.ok(batcher.stats.largest <= 8);
});

suite.test("the batcher sends a lone event at once and bounds its transactions in flight", async (fx) => {
  let inFlight = 0;
  let most = 0;
  const sizes: number[] = [];
  const batcher = createStoreBatcher(fx.sql, {
    maxBatch: 4,
    maxInFlight: 2,
    async write(_sql, items) {
      inFlight++;
      most = Math.max(most, inFlight);
      sizes.push(items.length);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return items.map((i): StoreResult =>
        i.e.content === "fail"
          ? { ok: false, error: new Error("boom") }
          : { ok: true, outcome: "stored" }
      );
    },
  });
  const s = newSigner();
  const lone = s.sign({ content: "alone" });
  const started = performance.now();
  assert.equal(await batcher.store(lone, item(lone).opts), "stored");
  assert.ok(performance.now() - started < 100);
  const many = Array.from({ length: 20 }, (_, i) => s.sign({ content: i === 7 ? "fail" : `${i}` }));
  const settled = await Promise.allSettled(many.map((e) => batcher.store(e, item(e).opts)));
  assert.equal(settled.filter((r) => r.status === "rejected").length, 1);
  assert.equal((settled[7] as PromiseRejectedResult).reason.message, "boom");
  assert.ok(most <= 2, `${most} in flight`);
  assert.ok(sizes.every((n) => n <= 4));
  await batcher.drain();
});

suite.test("newEvent() through the batcher answers OK after the commit, once per event", async (fx) => {
  const batcher = createStoreBatcher(fx.sql);
  const s = newSigner();
  const events = Array.from({ length: 10 }, (_, i) => s.sign({ content: `via job ${i}` }));
  const answers = await Promise.all(
    events.map((e) => fx.publish(e, { deps: { storeBatcher: batcher } })),
  );
  assert.deepEqual(answers, events.map(() => [true, ""]));
  const ids = new Set(await storedIds(fx.sql));
  for (const e of events) assert.ok(ids.has(e.id));
  assert.deepEqual(await fx.publish(events[0]!, { deps: { storeBatcher: batcher } }), [
    false,
    "duplicate: already have this event",
  ]);
});

suite.end();
