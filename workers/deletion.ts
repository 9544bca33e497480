/**
 * NIP-09 deletion requests (kind 5): which events and addresses one names, and the statements
 * that tombstone and delete them. They run inside the store transaction of the kind-5 event,
 * after the exclusive author lock (see store_event.ts), so no event of that author can commit
 * between the tombstone and the delete.
 *
 * @module
 */
import type postgres from "postgres";
import type { Sql } from "../lib/db.ts";
import { kindClass, type NostrEvent } from "../lib/nostr/event.ts";

const HEX64 = /^[0-9a-f]{64}$/;

/** What a deletion request asks for, already restricted to what its author may delete. */
export interface DeletionTargets {
  /** Event ids from `e` tags (deduplicated). */
  ids: string[];
  /** Coordinates from `a` tags naming the author's replaceable or addressable events. */
  addresses: { kind: number; d: string }[];
  /** True when a `k` tag names 1059: `e` targets may be gift wraps p-tagged to the author. */
  giftWraps: boolean;
}

/** Parses "<kind>:<pubkey>:<d>" (the d part may itself contain colons). */
function parseAddress(value: string): { kind: number; pubkey: string; d: string } | null {
  const first = value.indexOf(":");
  const second = value.indexOf(":", first + 1);
  if (first < 1 || second < 0) return null;
  const kindText = value.slice(0, first);
  if (!/^\d{1,5}$/.test(kindText)) return null;
  return {
    kind: Number(kindText),
    pubkey: value.slice(first + 1, second),
    d: value.slice(second + 1),
  };
}

/** Reads the `e`, `a` and `k` tags of a kind-5 event. */
export function deletionTargets(e: NostrEvent): DeletionTargets {
  const ids = new Set<string>();
  const addresses = new Map<string, { kind: number; d: string }>();
  let giftWraps = false;
  for (const t of e.tags) {
    const v = t[1];
    if (v === undefined) continue;
    if (t[0] === "e" && HEX64.test(v)) ids.add(v);
    else if (t[0] === "k" && v === "1059") giftWraps = true;
    else if (t[0] === "a") {
      const a = parseAddress(v);
      if (!a || a.pubkey !== e.pubkey || a.d.includes("\u0000")) continue;
      const cls = kindClass(a.kind);
      if (cls !== "replaceable" && cls !== "addressable") continue;
      addresses.set(`${a.kind}:${a.d}`, { kind: a.kind, d: a.d });
    }
  }
  return { ids: [...ids], addresses: [...addresses.values()], giftWraps };
}

/**
 * The statements applying deletion request `e` (run in order in the caller's transaction):
 * tombstones and deletes for `e` tags (own events only, never kind 5), the gift wraps addressed
 * to the author when asked, and address tombstones plus deletes of versions up to `created_at`.
 */
export function deletionStatements(
  tx: Sql,
  e: NostrEvent,
): postgres.PendingQuery<postgres.Row[]>[] {
  const t = deletionTargets(e);
  const out: postgres.PendingQuery<postgres.Row[]>[] = [];
  const author = tx`(select id from authors where pubkey = decode(${e.pubkey}, 'hex'))`;
  if (t.ids.length) {
    const targets = tx`array(select decode(x, 'hex') from unnest(${t.ids}::text[]) as x)`;
    out.push(tx`
      with tomb as (
        insert into delete_events (event_id, author_id, deletion_id)
        select x, ${author}, decode(${e.id}, 'hex') from unnest(${targets}) as x
        on conflict do nothing)
      delete from events where author_id = ${author} and kind <> 5 and event_id = any(${targets})`);
    if (t.giftWraps) {
      out.push(tx`
        with wrap as (
          delete from events e where e.kind = 1059 and e.event_id = any(${targets})
            and exists (select 1 from searchable_tags s
                        where s.event_id = e.id and s.name = 'p' and s.value = ${e.pubkey})
          returning e.event_id, e.author_id)
        insert into delete_events (event_id, author_id, deletion_id)
        select event_id, author_id, decode(${e.id}, 'hex') from wrap
        on conflict do nothing`);
    }
  }
  if (t.addresses.length) {
    const kinds = t.addresses.map((a) => a.kind);
    const ds = t.addresses.map((a) => a.d);
    out.push(tx`
      with addr as (select * from unnest(${kinds}::int[], ${ds}::text[]) as a(kind, d)),
      tomb as (
        insert into delete_addresses (author_id, kind, d_tag, until, deletion_id)
        select ${author}, kind, d, ${e.created_at}, decode(${e.id}, 'hex') from addr
        on conflict (author_id, kind, d_tag) do update
          set until = excluded.until, deletion_id = excluded.deletion_id
          where delete_addresses.until < excluded.until)
      delete from events e using addr
      where e.author_id = ${author} and e.kind = addr.kind and coalesce(e.d_tag, '') = addr.d
        and e.created_at <= ${e.created_at}`);
  }
  return out;
}
