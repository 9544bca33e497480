import assert from "node:assert/strict";
import type { NostrEvent } from "../lib/nostr/event.ts";
import type { Filter } from "../lib/nostr/filter.ts";
import { filterKeys, SubscriptionIndex } from "./subscriptions.ts";

interface Sub {
  name: string;
  filters: Filter[];
}

const A = "a".repeat(64);
const B = "b".repeat(64);
const ID = "1".repeat(64);

function event(overrides: Partial<NostrEvent> = {}): NostrEvent {
  return {
    id: ID,
    pubkey: A,
    created_at: 1000,
    kind: 1,
    tags: [["e", "x"], ["t", "nostr"], ["expiration"]],
    content: "hello",
    sig: "0".repeat(128),
    ...overrides,
  };
}

function setup(...subs: [string, Filter[]][]) {
  const index = new SubscriptionIndex<Sub>();
  const all = subs.map(([name, filters]) => ({ name, filters }));
  for (const s of all) index.add(s);
  function names(e: NostrEvent): string[] {
    return index.match(e, false).direct.map((s) => s.name).sort();
  }
  return { index, all, names };
}

Deno.test("filterKeys() picks one key kind, the most selective", () => {
  assert.deepEqual(filterKeys({ ids: [ID], authors: [A], kinds: [1] }), [`i:${ID}`]);
  assert.deepEqual(filterKeys({ authors: [A, B], "#e": ["x"] }), [`a:${A}`, `a:${B}`]);
  assert.deepEqual(filterKeys({ "#e": ["x", "y"], "#t": ["n"], kinds: [1] }), ["t:t:n"]);
  assert.deepEqual(filterKeys({ kinds: [1, 7], since: 5 }), ["k:1", "k:7"]);
  assert.deepEqual(filterKeys({ since: 5 }), ["all"]);
  assert.deepEqual(filterKeys({ ids: [] }), []);
});

Deno.test("SubscriptionIndex.match() finds subscriptions by each key kind", () => {
  const { names } = setup(
    ["by-id", [{ ids: [ID] }]],
    ["by-author", [{ authors: [A] }]],
    ["by-tag", [{ "#t": ["nostr"] }]],
    ["by-kind", [{ kinds: [1] }]],
    ["all", [{}]],
    ["other-id", [{ ids: [B] }]],
    ["other-author", [{ authors: [B] }]],
    ["other-tag", [{ "#t": ["NOSTR"] }]],
    ["other-kind", [{ kinds: [7] }]],
    ["empty-ids", [{ ids: [] }]],
  );
  assert.deepEqual(names(event()), ["all", "by-author", "by-id", "by-kind", "by-tag"]);
});

Deno.test("SubscriptionIndex.match() confirms every condition of the filter", () => {
  const { names } = setup(
    ["author-wrong-kind", [{ authors: [A], kinds: [7] }]],
    ["tag-and-tag", [{ "#t": ["nostr"], "#e": ["x"] }]],
    ["tag-and-missing-tag", [{ "#t": ["nostr"], "#p": [B] }]],
    ["kind-too-old", [{ kinds: [1], since: 2000 }]],
    ["kind-in-window", [{ kinds: [1], since: 1000, until: 1000 }]],
  );
  assert.deepEqual(names(event()), ["kind-in-window", "tag-and-tag"]);
});

Deno.test("SubscriptionIndex.match() delivers a multi-filter subscription once", () => {
  const { index, names } = setup(
    ["multi", [{ ids: [ID] }, { authors: [A] }, { kinds: [1] }, { kinds: [7] }]],
  );
  assert.deepEqual(names(event()), ["multi"]);
  assert.deepEqual(names(event({ kind: 7, pubkey: B, id: B })), ["multi"]);
  assert.deepEqual(names(event({ kind: 9, pubkey: B, id: B })), []);
  assert.equal(index.size, 1);
});

Deno.test("SubscriptionIndex.remove() stops matching and forgets empty keys", () => {
  const { index, all, names } = setup(["a", [{ authors: [A] }]], ["b", [{ authors: [A] }]]);
  assert.equal(index.remove(all[0]!), true);
  assert.equal(index.remove(all[0]!), false);
  assert.deepEqual(names(event()), ["b"]);
  index.remove(all[1]!);
  assert.deepEqual(names(event()), []);
  assert.equal(index.size, 0);
  assert.equal(index.candidates(event()).size, 0);
});

Deno.test("SubscriptionIndex.match() examines only candidates, never every subscription", () => {
  const subs: [string, Filter[]][] = [];
  for (let i = 0; i < 10_000; i++) {
    const pubkey = i.toString(16).padStart(64, "0");
    subs.push([`s${i}`, [{ authors: [pubkey], kinds: [1] }, { "#p": [pubkey] }]]);
  }
  subs.push(["wanted", [{ authors: [A] }]]);
  const { index, names } = setup(...subs);
  const before = index.stats.examined;
  assert.deepEqual(names(event({ tags: [["p", "0".repeat(63) + "5"]] })), ["s5", "wanted"]);
  assert.equal(index.stats.examined - before, 2);
});

Deno.test("SubscriptionIndex.match() separates search filters from plain ones", () => {
  const { index } = setup(
    ["plain-and-search", [{ kinds: [1], search: "hello" }, { authors: [A] }]],
    ["search-only", [{ kinds: [1], search: "hello lang:en" }, { kinds: [1], search: "bye" }]],
    ["search-other-kind", [{ kinds: [7], search: "hello" }]],
  );
  const searchable = index.match(event(), true);
  assert.deepEqual(searchable.direct.map((s) => s.name), ["plain-and-search"]);
  assert.deepEqual(
    searchable.search.map((c) => [c.sub.name, c.queries]),
    [["search-only", ["hello", "bye"]]],
  );
  const unsearchable = index.match(event(), false);
  assert.deepEqual(unsearchable.direct.map((s) => s.name), ["plain-and-search"]);
  assert.deepEqual(unsearchable.search, []);
});
