import assert from "node:assert/strict";
import { isExpired, type NostrEvent } from "../lib/nostr/event.ts";
import { type Filter, matchFilter } from "../lib/nostr/filter.ts";
import { effectiveLimit, type QueryContext, selectEvents } from "./query.ts";
import {
  newSigner,
  nowSeconds,
  type Signer,
  type WorkerFixture,
  workerSuite,
} from "./_test_helpers.ts";

const suite = workerSuite();
const T = nowSeconds() - 1000;
const ctx: QueryContext = {
  now: nowSeconds(),
  defaultLimit: 500,
  maxLimit: 1000,
  searchLanguage: "simple",
  dmAuthed: null,
};

interface Data {
  a: Signer;
  b: Signer;
  c: Signer;
  all: NostrEvent[];
}
let data: Data | undefined;

/** Stores the data set once per file; every stored event is kept in `all` (nothing is replaced). */
async function dataset(fx: WorkerFixture): Promise<Data> {
  if (data) return data;
  const [a, b, c] = [newSigner(), newSigner(), newSigner()];
  const all: NostrEvent[] = [];
  for (let i = 0; i < 10; i++) {
    const tags = [["t", i % 2 ? "X" : "x"]];
    if (i % 3 === 0) tags.push(["p", b.pubkey]);
    all.push(a.sign({ created_at: T + i, content: `a${i}`, tags }));
  }
  all.push(
    b.sign({
      kind: 7,
      created_at: T + 5,
      content: "+",
      tags: [["e", all[0]!.id], ["p", a.pubkey]],
    }),
  );
  all.push(b.sign({ kind: 7, created_at: T + 5, content: "-", tags: [["e", all[1]!.id]] }));
  all.push(
    b.sign({ created_at: T + 20, content: "The quick brown fox jumps", tags: [["t", "x"]] }),
  );
  all.push(b.sign({ created_at: T + 21, content: "lazy dogs sleep all day" }));
  all.push(
    c.sign({ kind: 30023, created_at: T + 30, content: "long fox read", tags: [["d", "alpha"]] }),
  );
  all.push(
    c.sign({ kind: 30023, created_at: T + 31, content: "more", tags: [["d", "beta"], ["t", "x"]] }),
  );
  all.push(
    c.sign({ created_at: T + 40, content: "soon gone", tags: [["expiration", String(T + 2000)]] }),
  );
  all.push(
    c.sign({
      kind: 1111,
      created_at: T + 3,
      content: "comment",
      tags: [["e", all[0]!.id], ["E", "z"]],
    }),
  );
  for (const e of all) assert.deepEqual(await fx.publish(e), [true, ""]);
  return data = { a, b, c, all };
}

function newestFirst(x: NostrEvent, y: NostrEvent): number {
  return y.created_at - x.created_at || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
}

/** What the SQL must return, computed with lib/nostr/filter.ts (search excluded). */
function reference(all: NostrEvent[], filters: Filter[], c: QueryContext): string[] {
  const out = new Map<string, NostrEvent>();
  for (const f of filters) {
    const matching = all.filter((e) => matchFilter(f, e) && !isExpired(e, c.now)).sort(newestFirst);
    for (const e of matching.slice(0, effectiveLimit(f, c))) out.set(e.id, e);
  }
  return [...out.values()].sort(newestFirst).map((e) => e.id);
}

async function run(fx: WorkerFixture, filters: Filter[], c = ctx): Promise<string[]> {
  const q = selectEvents(fx.sql, filters, c);
  if (!q) return [];
  return (await q).map((r) => JSON.parse(r.raw).id as string);
}

async function same(fx: WorkerFixture, filters: Filter[], c = ctx): Promise<string[]> {
  const { all } = await dataset(fx);
  const got = await run(fx, filters, c);
  assert.deepEqual(got, reference(all, filters, c), JSON.stringify(filters));
  return got;
}

suite.test("selectEvents() matches each filter field like matchFilter", async (fx) => {
  const { a, b, all } = await dataset(fx);
  assert.equal((await same(fx, [{ ids: [all[0]!.id, all[3]!.id] }])).length, 2);
  assert.equal((await same(fx, [{ authors: [a.pubkey] }])).length, 10);
  assert.equal((await same(fx, [{ kinds: [7] }])).length, 2);
  assert.equal((await same(fx, [{ authors: [a.pubkey, b.pubkey], kinds: [1] }])).length, 12);
  assert.equal((await same(fx, [{ "#p": [b.pubkey] }])).length, 4);
  assert.equal((await same(fx, [{ "#e": [all[0]!.id] }])).length, 2);
  assert.deepEqual(await same(fx, [{ "#E": ["z"] }]), [all[17]!.id]);
});

suite.test("selectEvents() walks tag values newest first with limits, like matchFilter", async (fx) => {
  const { a, b, all } = await dataset(fx);
  // one value, limits cutting between equal created_at (T+5: a5 and both kind 7 events)
  for (const limit of [1, 2, 3, 5, 50]) {
    await same(fx, [{ "#t": ["x"], limit }]);
    await same(fx, [{ "#p": [a.pubkey, b.pubkey], limit }]);
  }
  // several values, an event carrying two of them counted once
  await same(fx, [{ "#e": [all[0]!.id, all[1]!.id], limit: 2 }]);
  await same(fx, [{ "#t": ["x", "X"], limit: 3 }]);
  // the driving values combined with kinds, a time window and a second tag condition
  await same(fx, [{ "#t": ["x"], kinds: [30023], limit: 1 }]);
  await same(fx, [{ "#t": ["x", "X"], since: T + 2, until: T + 8, limit: 4 }]);
  await same(fx, [{ "#t": ["x"], "#p": [b.pubkey], limit: 1 }]);
  // more values than are walked one by one: the set lookup gives the same answer
  const many = [...Array.from({ length: 30 }, (_, i) => `none${i}`), "x"];
  await same(fx, [{ "#t": many, limit: 3 }]);
  // in a union with other filters
  await same(fx, [{ "#t": ["x"], limit: 2 }, { authors: [a.pubkey], limit: 2 }]);
});

suite.test("selectEvents() treats since and until as inclusive", async (fx) => {
  const got = await same(fx, [{ since: T + 3, until: T + 5 }]);
  const { all } = await dataset(fx);
  const times = got.map((id) => all.find((e) => e.id === id)!.created_at);
  assert.deepEqual(new Set(times), new Set([T + 3, T + 4, T + 5]));
  assert.ok(times.filter((t) => t === T + 5).length === 3, "T+5 by a and both kind 7 events");
});

suite.test("selectEvents() matches tag values exactly and case-sensitively", async (fx) => {
  const lower = await same(fx, [{ "#t": ["x"] }]);
  const upper = await same(fx, [{ "#t": ["X"] }]);
  assert.equal(upper.length, 5);
  assert.equal(lower.filter((id) => upper.includes(id)).length, 0);
  assert.deepEqual(await same(fx, [{ "#T": ["x"] }]), []);
  assert.deepEqual(await same(fx, [{ "#t": ["x "] }]), []);
});

suite.test("selectEvents() ANDs two tag conditions of one filter", async (fx) => {
  const { a, b } = await dataset(fx);
  const both = await same(fx, [{ "#t": ["x"], "#p": [b.pubkey] }]);
  assert.equal(both.length, 2, "a0 and a6 carry t=x and p=b");
  assert.deepEqual(await same(fx, [{ "#t": ["X"], "#p": [a.pubkey] }]), []);
});

suite.test("selectEvents() ORs filters, deduplicates and orders newest first", async (fx) => {
  const { a } = await dataset(fx);
  const got = await same(fx, [{ authors: [a.pubkey], limit: 3 }, { kinds: [1], limit: 4 }, {
    "#t": ["x"],
  }]);
  assert.equal(new Set(got).size, got.length);
});

suite.test("selectEvents() honours limit 0, the default limit and the maximum", async (fx) => {
  await dataset(fx);
  assert.equal(selectEvents(fx.sql, [{ kinds: [1], limit: 0 }], ctx), null);
  const { all } = await dataset(fx);
  assert.deepEqual(await same(fx, [{ limit: 0 }, { ids: [all[2]!.id] }]), [all[2]!.id]);
  const small = { ...ctx, defaultLimit: 3, maxLimit: 4 };
  assert.equal((await same(fx, [{ kinds: [1] }], small)).length, 3);
  assert.equal((await same(fx, [{ kinds: [1], limit: 100 }], small)).length, 4);
});

suite.test("selectEvents() matches nothing for an empty list", async (fx) => {
  const { all } = await dataset(fx);
  for (const f of [{ ids: [] }, { authors: [] }, { kinds: [] }, { "#t": [] }] as Filter[]) {
    assert.equal(selectEvents(fx.sql, [f], ctx), null, JSON.stringify(f));
  }
  assert.deepEqual(await same(fx, [{ ids: [] }, { ids: [all[1]!.id] }]), [all[1]!.id]);
  assert.deepEqual(await same(fx, [{ "#t": ["a\u0000b"] }]), []);
});

suite.test("selectEvents() never returns an expired event", async (fx) => {
  const { all } = await dataset(fx);
  const expiring = all[16]!;
  assert.ok((await run(fx, [{ ids: [expiring.id] }])).includes(expiring.id));
  const later = { ...ctx, now: T + 2000 };
  assert.deepEqual(await same(fx, [{ ids: [expiring.id] }], later), []);
  assert.equal(
    (await same(fx, [{ authors: [expiring.pubkey] }], later)).includes(expiring.id),
    false,
  );
});

suite.test("selectEvents() searches content with NIP-50 (extensions ignored, empty matches nothing)", async (fx) => {
  const { all } = await dataset(fx);
  const fox = all[12]!.id;
  const article = all[14]!.id;
  assert.deepEqual(await run(fx, [{ search: "quick fox" }]), [fox]);
  assert.deepEqual(await run(fx, [{ search: "fox" }]), [article, fox]);
  assert.deepEqual(await run(fx, [{ search: "fox include:spam" }]), [article, fox]);
  assert.deepEqual(await run(fx, [{ search: "fox -quick" }]), [article]);
  assert.deepEqual(await run(fx, [{ search: '"brown fox"' }]), [fox]);
  assert.deepEqual(await run(fx, [{ search: "fox", kinds: [30023] }]), [article]);
  assert.equal(selectEvents(fx.sql, [{ search: " include:spam " }], ctx), null);
  assert.deepEqual(await run(fx, [{ search: "sleep" }, { search: "quick" }]), [all[13]!.id, fox]);
});

suite.test("selectEvents() agrees with matchFilter on 300 generated filter sets", async (fx) => {
  const { a, b, c, all } = await dataset(fx);
  let seed = 42;
  /** mulberry32: a small deterministic PRNG, so failures are reproducible. */
  function rnd(n: number): number {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296 * n) | 0;
  }
  /** Usually one to three values of `xs`, sometimes none (an empty list). */
  function some<T>(xs: T[]): T[] {
    if (rnd(10) === 0) return [];
    return Array.from({ length: 1 + rnd(3) }, () => xs[rnd(xs.length)]!);
  }
  const ids = all.map((e) => e.id);
  const authors = [a.pubkey, b.pubkey, c.pubkey];
  let nonEmpty = 0;
  for (let i = 0; i < 300; i++) {
    const filters: Filter[] = [];
    for (let j = 0; j <= rnd(3); j++) {
      const f: Filter = {};
      if (rnd(4) === 0) f.ids = some(ids);
      if (rnd(3) === 0) f.authors = some(authors);
      if (rnd(3) === 0) f.kinds = some([1, 7, 30023, 1111, 3]);
      if (rnd(4) === 0) f.since = T + rnd(25);
      if (rnd(4) === 0) f.until = (f.since ?? T) + rnd(30);
      if (rnd(4) === 0) f["#t"] = some(["x", "X", "y"]);
      if (rnd(5) === 0) f["#p"] = some(authors);
      if (rnd(5) === 0) f["#e"] = some([all[0]!.id, all[1]!.id]);
      if (rnd(3) === 0) f.limit = rnd(6);
      filters.push(f);
    }
    const got = await same(fx, filters, { ...ctx, defaultLimit: 1 + rnd(8) });
    if (got.length) nonEmpty++;
  }
  assert.ok(nonEmpty > 150, `only ${nonEmpty} generated filter sets matched anything`);
});

suite.end();
