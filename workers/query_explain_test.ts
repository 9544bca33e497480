import assert from "node:assert/strict";
import type { Filter } from "../lib/nostr/filter.ts";
import { matchingIds, type QueryContext, selectEvents } from "./query.ts";
import { type WorkerFixture, workerSuite } from "./_test_helpers.ts";

const suite = workerSuite();
const NOW = 2_000_000_000;
const base = { now: NOW, defaultLimit: 500, maxLimit: 1000, searchLanguage: "simple" };

/**
 * 20,000 events from 500 authors: per author one kind 0 and one kind 3, 40 addressable 30023
 * (d tags), the rest kinds 1/7/6 with e, p and t tags; kind 1 is searchable. One event every
 * 10 s going back from NOW. Then 2,000 DMs (kind 4) and 500 gift wraps (kind 1059) between
 * those authors, p-tagged like the notes.
 */
async function seed(fx: WorkerFixture) {
  await fx.sql`insert into authors (pubkey)
    select sha256(('author' || i)::bytea) from generate_series(0, 499) as i`;
  await fx.sql`insert into events (event_id, author_id, kind, created_at, d_tag, raw)
    select sha256(('event' || i)::bytea), a.id,
      case i / 500 when 0 then 0 when 1 then 3 when 2 then 30023
        else (array[1, 1, 7, 6])[1 + i % 4] end,
      ${NOW} - i * 10,
      case when i / 500 = 2 then 'd' || i end,
      '{"i":' || i || '}'
    from generate_series(0, 19999) as i
    join authors a on a.pubkey = sha256(('author' || (i % 500))::bytea)`;
  await fx.sql`insert into events (event_id, author_id, kind, created_at, raw)
    select sha256(('dm' || i)::bytea), a.id, case when i < 2000 then 4 else 1059 end,
      ${NOW} - i * 80 - 5, '{"dm":' || i || '}'
    from generate_series(0, 2499) as i
    join authors a on a.pubkey = sha256(('author' || (i * 7 % 500))::bytea)`;
  await fx.sql`insert into searchable_tags (event_id, name, value, created_at)
    select id, 'e', encode(sha256(('event' || (id + 7))::bytea), 'hex'), created_at
      from events where kind in (1, 7, 6)
    union all
    select id, 'p', encode(sha256(('author' || (id % 500))::bytea), 'hex'), created_at
      from events where kind in (1, 7, 3, 4, 1059)
    union all
    select id, 't', 'topic' || (id % 200), created_at from events where kind = 1
    union all
    select id, 'd', d_tag, created_at from events where kind = 30023`;
  await fx.sql`insert into searchable_contents (event_id, tsv)
    select id, to_tsvector('simple', 'word' || (id % 2000) || ' common words here')
    from events where kind = 1`;
  await fx.sql`analyze`;
}

const author = (i: number) => hex(`author${i}`);
const eventId = (i: number) => hex(`event${i}`);
const hashes = new Map<string, string>();
function hex(s: string): string {
  const v = hashes.get(s);
  if (!v) throw new Error(`Cannot find hash of ${s}: not precomputed`);
  return v;
}
async function precompute(fx: WorkerFixture) {
  const rows = await fx.sql`select s, encode(sha256(s::bytea), 'hex') as h from unnest(${[
    ...Array.from({ length: 20 }, (_, i) => `author${i}`),
    ...Array.from({ length: 20 }, (_, i) => `event${i * 97}`),
  ]}::text[]) as s`;
  for (const r of rows) hashes.set(r.s as string, r.h as string);
}

/**
 * Common filter shapes. `broad` shapes match a large part of the table without a limit when
 * counted, where a sequential scan is the right plan for COUNT (NIP_45_COUNT_COST_THRESHOLD
 * exists for them); their REQ plans are still checked.
 */
const BROAD = new Set(["kinds only", "recent (no conditions)", "DMs and gift wraps by kinds only"]);
const SHAPES: Record<string, () => Filter[]> = {
  "by ids": () => [{ ids: [eventId(0), eventId(97), eventId(194)] }],
  "authors + kinds": () => [{ authors: [author(3), author(4)], kinds: [1], limit: 20 }],
  "kinds only": () => [{ kinds: [1], limit: 50 }],
  "#e": () => [{ "#e": [eventId(970)] }],
  "#p": () => [{ "#p": [author(7)], limit: 100 }],
  "#t with kinds": () => [{ "#t": ["topic42"], kinds: [1], limit: 50 }],
  "since/until window": () => [{ since: NOW - 3600, until: NOW - 1800 }],
  "authors + kind + #d": () => [{ authors: [author(5)], kinds: [30023], "#d": ["d1005"] }],
  "search": () => [{ search: "word42", limit: 20 }],
  "recent (no conditions)": () => [{ limit: 100 }],
  "two filters (union)": () => [{ ids: [eventId(0)] }, { authors: [author(1)], kinds: [0, 3] }],
  "DM inbox: kinds [4] + #p": () => [{ kinds: [4], "#p": [author(7)], limit: 50 }],
  "DMs sent: kinds [4] + authors": () => [{ kinds: [4], authors: [author(7)] }],
  "DMs of someone else: kinds [4] + #p": () => [{ kinds: [4], "#p": [author(8)], limit: 50 }],
  "gift wraps: kinds [1059] + #p": () => [{ kinds: [1059], "#p": [author(7)] }],
  "DMs and gift wraps by kinds only": () => [{ kinds: [4, 1059], limit: 50 }],
};

/**
 * The query contexts every shape is planned in: DM privacy off, on for a requester who
 * authenticated author 7 (and author 9), and on for an anonymous one (DM-only shapes then
 * match nothing and have no query).
 */
function contexts(): Record<string, QueryContext> {
  return {
    "privacy off": { ...base, dmAuthed: null },
    "authenticated": { ...base, dmAuthed: [author(7), author(9)] },
    "anonymous": { ...base, dmAuthed: [] },
  };
}

/** Names of the nodes of `plan` that scan `events` sequentially. */
function seqScansOnEvents(plan: Record<string, unknown>): string[] {
  const found: string[] = [];
  if (plan["Node Type"] === "Seq Scan" && plan["Relation Name"] === "events") {
    found.push("Seq Scan");
  }
  for (const child of (plan["Plans"] as Record<string, unknown>[] | undefined) ?? []) {
    found.push(...seqScansOnEvents(child));
  }
  return found;
}

async function explain(fx: WorkerFixture, query: unknown): Promise<Record<string, unknown>> {
  const [row] = await fx.sql`explain (format json) ${query as never}`;
  const plan = (row!["QUERY PLAN"] as { Plan: Record<string, unknown> }[])[0]!.Plan;
  return plan;
}

suite.test("query plans (seeded with 22.5k events) use indexes, never a Seq Scan on events", async (fx) => {
  await seed(fx);
  await precompute(fx);
  for (const [name, ctx] of Object.entries(contexts())) {
    for (const [shape, filters] of Object.entries(SHAPES)) {
      const what = `${shape} (${name})`;
      const query = selectEvents(fx.sql, filters(), ctx);
      if (!query) {
        const dmOnly = filters().every((f) => f.kinds?.every((k) => k === 4 || k === 1059));
        assert.ok(name === "anonymous" && dmOnly, `no query for ${what}`);
        continue;
      }
      const plan = await explain(fx, query);
      assert.deepEqual(
        seqScansOnEvents(plan),
        [],
        `REQ ${what}:\n${JSON.stringify(plan, null, 1)}`,
      );
      if (BROAD.has(shape)) continue;
      const count = matchingIds(fx.sql, filters(), ctx);
      const countPlan = await explain(fx, count);
      assert.deepEqual(
        seqScansOnEvents(countPlan),
        [],
        `COUNT ${what}:\n${JSON.stringify(countPlan, null, 1)}`,
      );
    }
  }
});

suite.end();
