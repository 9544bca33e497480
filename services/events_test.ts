import assert from "node:assert/strict";
import { canonicalJson } from "../lib/nostr/event.ts";
import { storeEvent } from "../workers/store_event.ts";
import { browseEvents, deleteEvent, getEvent, type StoredEvent } from "./events.ts";
import type { ServiceDeps } from "./deps.ts";
import { store } from "./_store.ts";
import { serviceSuite, testSigner } from "./_testing.ts";

const suite = serviceSuite();

async function all(
  deps: ServiceDeps,
  filter: Parameters<typeof browseEvents>[1],
  limit = 2,
): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  let cursor: string | null = null;
  do {
    const page = await browseEvents(deps, filter, { limit, cursor });
    out.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return out;
}

suite.test("browseEvents() filters by author, kind, tag, time and search; pages without gaps", async ({ deps }) => {
  const alice = testSigner();
  const bob = testSigner();
  const t0 = Math.floor(Date.now() / 1000) - 1000;
  const events = [
    alice.sign({ kind: 1, content: "hello nostr world", tags: [["t", "intro"]], created_at: t0 }),
    alice.sign({ kind: 1, content: "second note", created_at: t0 + 10 }),
    alice.sign({ kind: 7, content: "+", created_at: t0 + 10 }),
    bob.sign({ kind: 1, content: "bob says hello", tags: [["t", "intro"]], created_at: t0 + 20 }),
    bob.sign({ kind: 30023, content: "long form", tags: [["d", "a"]], created_at: t0 + 30 }),
  ];
  await store(deps, ...events);
  const ids = (list: StoredEvent[]) => list.map((e) => e.id);
  const everything = await all(deps, { since: t0, until: t0 + 30 });
  assert.equal(everything.length, 5);
  const sorted = [...events].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1));
  assert.deepEqual(ids(everything), ids(sorted as StoredEvent[]));
  assert.deepEqual(
    ids(await all(deps, { author: alice.pubkey })).sort(),
    ids(events.slice(0, 3) as StoredEvent[]).sort(),
  );
  assert.deepEqual(ids(await all(deps, { author: alice.pubkey, kinds: [7] })), [events[2]!.id]);
  assert.deepEqual(ids(await all(deps, { kinds: 30023 })), [events[4]!.id]);
  assert.deepEqual(ids(await all(deps, { tag: { name: "t", value: "intro" } })), [
    events[3]!.id,
    events[0]!.id,
  ]);
  assert.deepEqual(ids(await all(deps, { search: "hello" })), [events[3]!.id, events[0]!.id]);
  assert.deepEqual(ids(await all(deps, { search: "hello", author: bob.pubkey })), [events[3]!.id]);
  assert.deepEqual(ids(await all(deps, { since: t0 + 20, until: t0 + 25 })), [events[3]!.id]);
  const first = everything.find((e) => e.id === events[0]!.id)!;
  assert.equal(first.content, "hello nostr world");
  assert.equal(first.expiresAt, null);
  assert.equal(first.sig, events[0]!.sig);
});

suite.test("browseEvents() refuses bad filters", async ({ deps }) => {
  await assert.rejects(() => browseEvents(deps, { author: "zz" }), { code: "invalid" });
  await assert.rejects(() => browseEvents(deps, { kinds: [70000] }), { code: "invalid" });
  await assert.rejects(() => browseEvents(deps, { tag: { name: "tt", value: "x" } }), {
    code: "invalid",
  });
  await assert.rejects(() => browseEvents(deps, {}, { cursor: "abc" }), { code: "invalid" });
  assert.deepEqual(await browseEvents(deps, { search: "  " }), await browseEvents(deps, {}));
});

suite.test("getEvent() and deleteEvent(): tombstoned like NIP-09, cannot be stored again", async ({ deps }) => {
  const alice = testSigner();
  const reporter = testSigner();
  const e = alice.sign({ content: "to delete" });
  await store(deps, e);
  await store(
    deps,
    reporter.sign({ kind: 1984, tags: [["e", e.id, "spam"], ["p", alice.pubkey]] }),
  );
  const before = await getEvent(deps, e.id);
  assert.equal(before.event?.id, e.id);
  assert.equal(before.reports, 1);
  assert.equal(before.tombstoned, false);
  assert.equal(await deleteEvent(deps, e.id), true);
  assert.equal(await deleteEvent(deps, e.id), false);
  const after = await getEvent(deps, e.id);
  assert.equal(after.event, null);
  assert.equal(after.tombstoned, true);
  const again = await storeEvent(deps.sql, e, {
    raw: canonicalJson(e),
    now: Math.floor(Date.now() / 1000),
    searchLanguage: "simple",
    searchKinds: [1],
  });
  assert.equal(again, "deleted");
});

suite.end();
