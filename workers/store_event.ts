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
