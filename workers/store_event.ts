/**
 * Stores one checked, non-ephemeral event in a single pipelined transaction (one round trip once
 * the statements are prepared on the connection):
 *
 *   begin; advisory locks; upsert author; [delete beaten versions]; [NIP-09 deletions];
 *   insert event + tags + search text with its verdict; commit
 *
 * Locks (transaction-scoped, taken before any statement that reads): every event takes the
 * author's lock in shared mode, a kind-5 deletion takes it exclusively, so a deletion and an
 * event of the same author never overlap and each sees the other's commit (tombstones cannot be
 * slipped past). Replaceable and addressable events also take an exclusive lock on their
 * coordinate (author, kind, d), which serialises competing versions: the later transaction sees
 * the earlier one's result and either replaces it or is refused. The partial unique indexes of
 * migration 0001 remain the last line of defence.
 *
 * @module
 */
import type postgres from "postgres";
import type { Sql } from "../lib/db.ts";
import { dTag, expiration, kindClass, type NostrEvent } from "../lib/nostr/event.ts";
import { searchableText } from "../lib/nostr/search.ts";
import { deletionStatements } from "./deletion.ts";

/** How a store attempt ended. */
export type StoreOutcome = "stored" | "deleted" | "address_deleted" | "duplicate" | "superseded";

/** Settings the store needs. */
export interface StoreOptions {
  /** Canonical JSON stored in `raw`. */
  raw: string;
  /** Unix seconds: stored versions expired at this time do not compete with a new one. */
  now: number;
  searchLanguage: string;
  searchKinds: readonly number[];
}

type Query = postgres.PendingQuery<postgres.Row[]>;

/** Longest tag value indexed in `searchable_tags`. */
export const MAX_TAG_VALUE_LENGTH = 1024;

/** Single-letter tags, first value only, deduplicated; values PostgreSQL cannot hold skipped. */
export function indexedTags(e: Pick<NostrEvent, "tags">): { names: string[]; values: string[] } {
  const seen = new Set<string>();
  const names: string[] = [];
  const values: string[] = [];
  for (const t of e.tags) {
    const name = t[0];
    const value = t[1];
    if (name === undefined || value === undefined || !/^[a-zA-Z]$/.test(name)) continue;
    if (value.length > MAX_TAG_VALUE_LENGTH || value.includes("\u0000")) continue;
    const key = `${name}\u0000${value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    names.push(name);
    values.push(value);
  }
  return { names, values };
}

/**
 * The kind range of a class as literal SQL on table alias `x`, so that the partial unique
 * indexes stay usable by generic plans of these prepared statements.
 */
function classPredicate(tx: Sql, cls: string): postgres.Fragment {
  return cls === "addressable"
    ? tx`x.kind >= 30000 and x.kind < 40000`
    : tx`(x.kind in (0, 3) or (x.kind >= 10000 and x.kind < 20000))`;
}

function lockStatement(tx: Sql, e: NostrEvent, cls: string, d: string | null): Query {
  if (e.kind === 5) return tx`select pg_advisory_xact_lock(1, hashtext(${e.pubkey}))`;
  if (cls === "regular") return tx`select pg_advisory_xact_lock_shared(1, hashtext(${e.pubkey}))`;
  const coordinate = `${e.pubkey}:${e.kind}:${d ?? ""}`;
  return tx`select pg_advisory_xact_lock_shared(1, hashtext(${e.pubkey})),
    pg_advisory_xact_lock(2, hashtext(${coordinate}))`;
}

/** Deletes the stored version(s) the new event beats, unless a tombstone refuses the new one. */
function deleteBeaten(tx: Sql, e: NostrEvent, cls: string, d: string | null, now: number): Query {
  const sameD = d === null ? tx`` : tx`and x.d_tag = ${d}`;
  return tx`
    delete from events x using authors a
    where a.pubkey = decode(${e.pubkey}, 'hex') and x.author_id = a.id and x.kind = ${e.kind}
      and ${classPredicate(tx, cls)} ${sameD}
      and ((x.expires_at is not null and x.expires_at <= ${now})
        or ((x.created_at < ${e.created_at}
             or (x.created_at = ${e.created_at} and x.event_id > decode(${e.id}, 'hex')))
          and not exists (select 1 from delete_events t
                          where t.event_id = decode(${e.id}, 'hex') and t.author_id = a.id)
          and not exists (select 1 from delete_addresses t
                          where t.author_id = a.id and t.kind = ${e.kind} and t.d_tag = ${d ?? ""}
                            and t.until >= ${e.created_at})))`;
}

/** Inserts the event and its index rows when nothing refuses it; returns the verdict row. */
function insertStatement(
  tx: Sql,
  e: NostrEvent,
  cls: string,
  d: string | null,
  opts: StoreOptions,
): Query {
  const id = tx`decode(${e.id}, 'hex')`;
  const tombstoned = e.kind === 5 ? tx`false` : tx`exists (select 1 from delete_events t
    where t.event_id = ${id} and t.author_id = a.id)`;
  const replaceable = cls === "replaceable" || cls === "addressable";
  const addressDeleted = !replaceable ? tx`false` : tx`exists (select 1 from delete_addresses t
    where t.author_id = a.id and t.kind = ${e.kind} and t.d_tag = ${d ?? ""}
      and t.until >= ${e.created_at})`;
  const superseded = !replaceable ? tx`false` : tx`exists (select 1 from events x
    where x.author_id = a.id and x.kind = ${e.kind} and ${classPredicate(tx, cls)}
      ${d === null ? tx`` : tx`and x.d_tag = ${d}`}
      and (x.expires_at is null or x.expires_at > ${opts.now})
      and (x.created_at > ${e.created_at}
        or (x.created_at = ${e.created_at} and x.event_id < ${id})))`;
  const { names, values } = indexedTags(e);
  const searchable = opts.searchKinds.includes(e.kind);
  return tx`
    with a as (select id from authors where pubkey = decode(${e.pubkey}, 'hex')),
    s as (
      select a.id as author_id, ${tombstoned} as deleted, ${addressDeleted} as address_deleted,
        exists (select 1 from events x where x.event_id = ${id}) as stored,
        ${superseded} as superseded
      from a),
    ins as (
      insert into events (event_id, author_id, kind, created_at, d_tag, expires_at, raw)
      select ${id}, s.author_id, ${e.kind}, ${e.created_at}, ${d}, ${expiration(e)}, ${opts.raw}
      from s where not (s.deleted or s.address_deleted or s.stored or s.superseded)
      on conflict (event_id) do nothing
      returning id),
    tg as (
      insert into searchable_tags (event_id, name, value, created_at)
      select ins.id, t.name, t.value, ${e.created_at}
      from ins, unnest(${names}::text[], ${values}::text[]) as t(name, value)),
    sc as (
      insert into searchable_contents (event_id, tsv)
      select ins.id, to_tsvector(${opts.searchLanguage}::text::regconfig,
        ${searchable ? searchableText(e) : ""}::text)
      from ins where ${searchable}::boolean)
    select s.deleted, s.address_deleted, s.stored, s.superseded,
      (select count(*) from ins)::int as inserted
    from s`;
}

interface Verdict {
  deleted: boolean;
  address_deleted: boolean;
  stored: boolean;
  superseded: boolean;
  inserted: number;
}

function outcomeOf(v: Verdict | undefined): StoreOutcome {
  if (!v) throw new Error("Cannot store event: its author row is missing");
  if (v.deleted) return "deleted";
  if (v.address_deleted) return "address_deleted";
  if (v.inserted > 0) return "stored";
  if (v.superseded) return "superseded";
  return "duplicate";
}

/**
 * Stores `e` (regular, replaceable, addressable or a kind-5 deletion request with its effects)
 * atomically and reports the outcome. Infrastructure failures reject.
 */
export async function storeEvent(
  sql: Sql,
  e: NostrEvent,
  opts: StoreOptions,
): Promise<StoreOutcome> {
  const cls = kindClass(e.kind);
  if (cls === "ephemeral") throw new Error("Cannot store event: ephemeral kinds are never stored");
  const d = cls === "addressable" ? dTag(e) : null;
  const tx = await sql.reserve();
  try {
    const statements: Query[] = [
      tx`begin`,
      lockStatement(tx, e, cls, d),
      tx`insert into authors (pubkey)
        select decode(${e.pubkey}, 'hex')
        where not exists (select 1 from authors where pubkey = decode(${e.pubkey}, 'hex'))
        on conflict (pubkey) do nothing`,
    ];
    if (cls !== "regular") statements.push(deleteBeaten(tx, e, cls, d, opts.now));
    if (e.kind === 5) statements.push(...deletionStatements(tx, e));
    const verdict = insertStatement(tx, e, cls, d, opts);
    statements.push(verdict, tx`commit`);
    // Everything is sent at once, in this order (execute() dispatches now; awaiting alone
    // would dispatch in the order the promises are first observed). Settle all before
    // releasing the connection, so the commit (a rollback after an error) has finished.
    for (const q of statements) q.execute();
    const settled = await Promise.allSettled(statements);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const rows = await verdict;
    return outcomeOf(rows[0] as Verdict | undefined);
  } finally {
    tx.release();
  }
}

/** One event of a batch and its settings. */
export interface StoreItem {
  e: NostrEvent;
  opts: StoreOptions;
}

/** The result of one event of a batch: its outcome, or the error that kept it from being stored. */
export type StoreResult = { ok: true; outcome: StoreOutcome } | { ok: false; error: unknown };

/** PostgreSQL's deadlock_detected: the transaction was rolled back and may simply be re-run. */
function isDeadlock(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "40P01";
}

/**
 * The advisory locks of a batch, in one statement: per (space, hashtext(key)) the strongest mode
 * any event needs (the author's lock exclusive for a kind-5 deletion, else shared; the
 * coordinate's lock exclusive), taken in ascending (space, hash) order so that two batches never
 * wait for each other in a cycle. Output expressions run after the sort (PostgreSQL ≥ 9.6).
 */
function batchLockStatement(tx: Sql, items: StoreItem[]): Query {
  const spaces: number[] = [];
  const keys: string[] = [];
  const exclusive: number[] = [];
  for (const { e } of items) {
    const cls = kindClass(e.kind);
    spaces.push(1);
    keys.push(e.pubkey);
    exclusive.push(e.kind === 5 ? 1 : 0);
    if (cls === "replaceable" || cls === "addressable") {
      spaces.push(2);
      keys.push(`${e.pubkey}:${e.kind}:${cls === "addressable" ? dTag(e) : ""}`);
      exclusive.push(1);
    }
  }
  return tx`
    select case when l.x then pg_advisory_xact_lock(l.s, l.h)
      else pg_advisory_xact_lock_shared(l.s, l.h) end
    from (select u.s, hashtext(u.k) as h, bool_or(u.x = 1) as x
      from unnest(${spaces}::int[], ${keys}::text[], ${exclusive}::int[]) as u(s, k, x)
      group by u.s, hashtext(u.k)) l
    order by l.s, l.h`;
}

/**
 * Stores a batch of events in one transaction, with the outcome each would have had alone:
 * the authors are upserted first (one statement, in pubkey order, committed by itself), the
 * locks of all events are taken (in a global order), then each event's statements run in batch
 * order, exactly those of
 * `storeEvent`, so later events see earlier ones (a second copy of an event is a duplicate, a
 * newer version replaces an older one, a deletion sees what it deletes). One commit for all.
 * A deadlock re-runs the batch; any other failure falls back to one transaction per event, so an
 * event that cannot be stored never takes the others down with it.
 */
export async function storeEvents(
  sql: Sql,
  items: StoreItem[],
  onFallback?: (err: unknown) => void,
): Promise<StoreResult[]> {
  if (items.length === 1) {
    const { e, opts } = items[0]!;
    return [
      await storeEvent(sql, e, opts).then(
        (outcome): StoreResult => ({ ok: true, outcome }),
        (error: unknown): StoreResult => ({ ok: false, error }),
      ),
    ];
  }
  for (let attempt = 0;; attempt++) {
    try {
      return (await storeBatchOnce(sql, items)).map((outcome) => ({ ok: true, outcome }));
    } catch (err) {
      if (isDeadlock(err) && attempt < 2) continue;
      onFallback?.(err);
      break;
    }
  }
  const out: StoreResult[] = [];
  for (const { e, opts } of items) {
    out.push(
      await storeEvent(sql, e, opts).then(
        (outcome): StoreResult => ({ ok: true, outcome }),
        (error: unknown): StoreResult => ({ ok: false, error }),
      ),
    );
  }
  return out;
}

/**
 * The events of a batch that may share one multi-row insert: regular kinds other than 5, whose
 * author has no deletion request in the batch, first copy of their id, same search language as
 * the first event. Their outcome depends only on what is stored already (tombstone, duplicate),
 * never on another event of the batch, so inserting them first, together, gives each the outcome
 * it would have had alone. Returns their positions in `items`.
 */
export function multiRowEligible(items: StoreItem[]): number[] {
  const deleters = new Set<string>();
  for (const { e } of items) if (e.kind === 5) deleters.add(e.pubkey);
  const language = items[0]?.opts.searchLanguage;
  const seen = new Set<string>();
  const out: number[] = [];
  items.forEach(({ e, opts }, i) => {
    if (kindClass(e.kind) !== "regular" || e.kind === 5 || deleters.has(e.pubkey)) return;
    if (opts.searchLanguage !== language || seen.has(e.id)) return;
    seen.add(e.id);
    out.push(i);
  });
  return out;
}

/**
 * One statement inserting many regular events with their tags and search text (the work of
 * `insertStatement` for each, an order of magnitude cheaper per event than one statement each).
 * Returns one row per event: `n` (1-based position in `batch`), `deleted`, `inserted`.
 */
function multiRowInsert(tx: Sql, batch: StoreItem[]): Query {
  const ids: string[] = [];
  const pubkeys: string[] = [];
  const kinds: number[] = [];
  const createdAts: number[] = [];
  const expiresAts: (number | null)[] = [];
  const raws: string[] = [];
  const texts: (string | null)[] = [];
  const tagN: number[] = [];
  const tagNames: string[] = [];
  const tagValues: string[] = [];
  batch.forEach(({ e, opts }, i) => {
    ids.push(e.id);
    pubkeys.push(e.pubkey);
    kinds.push(e.kind);
    createdAts.push(e.created_at);
    expiresAts.push(expiration(e));
    raws.push(opts.raw);
    texts.push(opts.searchKinds.includes(e.kind) ? searchableText(e) : null);
    const { names, values } = indexedTags(e);
    for (let j = 0; j < names.length; j++) {
      tagN.push(i + 1);
      tagNames.push(names[j]!);
      tagValues.push(values[j]!);
    }
  });
  const language = batch[0]!.opts.searchLanguage;
  return tx`
    with input as (
      select * from unnest(${ids}::text[], ${pubkeys}::text[], ${kinds}::int[],
        ${createdAts}::bigint[], ${expiresAts}::bigint[], ${raws}::text[], ${texts}::text[])
        with ordinality as u(id, pubkey, kind, created_at, expires_at, raw, txt, n)),
    s as (
      select u.n, decode(u.id, 'hex') as eid, a.id as author_id, u.kind, u.created_at,
        u.expires_at, u.raw, u.txt,
        exists (select 1 from delete_events t
                where t.event_id = decode(u.id, 'hex') and t.author_id = a.id) as deleted,
        exists (select 1 from events x where x.event_id = decode(u.id, 'hex')) as stored
      from input u join authors a on a.pubkey = decode(u.pubkey, 'hex')),
    ins as (
      insert into events (event_id, author_id, kind, created_at, d_tag, expires_at, raw)
      select eid, author_id, kind, created_at, null, expires_at, raw
      from s where not (s.deleted or s.stored)
      order by eid
      on conflict (event_id) do nothing
      returning id, event_id, created_at),
    tg as (
      insert into searchable_tags (event_id, name, value, created_at)
      select ins.id, t.name, t.value, ins.created_at
      from ins join s on s.eid = ins.event_id
        join unnest(${tagN}::int[], ${tagNames}::text[], ${tagValues}::text[]) as t(n, name, value)
          on t.n = s.n),
    sc as (
      insert into searchable_contents (event_id, tsv)
      select ins.id, to_tsvector(${language}::text::regconfig, s.txt)
      from ins join s on s.eid = ins.event_id where s.txt is not null)
    select s.n::int as n, s.deleted,
      exists (select 1 from ins where ins.event_id = s.eid) as inserted
    from s`;
}

async function storeBatchOnce(sql: Sql, items: StoreItem[]): Promise<StoreOutcome[]> {
  for (const { e } of items) {
    if (kindClass(e.kind) === "ephemeral") {
      throw new Error("Cannot store event: ephemeral kinds are never stored");
    }
  }
  const pubkeys = [...new Set(items.map((i) => i.e.pubkey))].sort();
  const tx = await sql.reserve();
  try {
    const statements: Query[] = [
      // Committed on its own, before the transaction: a new author's row inserted inside a
      // long transaction would make every other batch with that author wait for its commit.
      // An author row without events is harmless.
      tx`insert into authors (pubkey)
        select decode(p, 'hex') from unnest(${pubkeys}::text[]) as p
        where not exists (select 1 from authors where pubkey = decode(p, 'hex'))
        order by p
        on conflict (pubkey) do nothing`,
      tx`begin`,
      // plans for the actual batch (a generic plan may hash-scan `events` for the subqueries)
      tx`select set_config('plan_cache_mode', 'force_custom_plan', true)`,
      batchLockStatement(tx, items),
    ];
    const multi = multiRowEligible(items);
    const together = multi.map((i) => items[i]!);
    const many = together.length > 1 ? multiRowInsert(tx, together) : undefined;
    if (many) statements.push(many);
    const alone = many ? new Set(multi) : new Set<number>();
    const verdicts: (Query | undefined)[] = [];
    for (const [i, { e, opts }] of items.entries()) {
      if (alone.has(i)) {
        verdicts.push(undefined);
        continue;
      }
      const cls = kindClass(e.kind);
      const d = cls === "addressable" ? dTag(e) : null;
      if (cls !== "regular") statements.push(deleteBeaten(tx, e, cls, d, opts.now));
      if (e.kind === 5) statements.push(...deletionStatements(tx, e));
      const verdict = insertStatement(tx, e, cls, d, opts);
      verdicts.push(verdict);
      statements.push(verdict);
    }
    statements.push(tx`commit`);
    for (const q of statements) q.execute();
    const settled = await Promise.allSettled(statements);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) {
      // The pipelined `commit` already ended the aborted transaction (PostgreSQL answers it with
      // ROLLBACK); this rollback is a safety net. It is bounded: on a connection that died with
      // the server, postgres.js never settles a query on a reserved connection, and an unbounded
      // wait here held a batch slot forever, so no event was stored after PostgreSQL came back.
      await Promise.race([
        tx`rollback`.catch(function alreadyEnded() {}),
        new Promise((resolve) => setTimeout(resolve, 1000)),
      ]);
      throw (failed as PromiseRejectedResult).reason;
    }
    const outcomes: StoreOutcome[] = new Array(items.length);
    if (many) {
      const rows = await many;
      if (rows.length !== together.length) {
        throw new Error("Cannot store events: an author row is missing");
      }
      for (const r of rows) {
        const i = multi[(r.n as number) - 1]!;
        outcomes[i] = r.deleted ? "deleted" : r.inserted ? "stored" : "duplicate";
      }
    }
    for (const [i, v] of verdicts.entries()) {
      if (v) outcomes[i] = outcomeOf((await v)[0] as Verdict | undefined);
    }
    return outcomes;
  } finally {
    tx.release();
  }
}
