/**
 * Stored events for the admin: browse with filters (author, kinds, one tag, time range, NIP-50
 * full-text search with REQ's semantics), newest first with keyset pagination on
 * (created_at, event id), never OFFSET; view one with its reports; delete one with a NIP-09
 * style tombstone (it cannot be stored again). Bans live in moderation.ts and are re-exported
 * here for the events pages.
 *
 * @module
 */
import type postgres from "postgres";
import type { NostrEvent } from "../lib/nostr/event.ts";
import { searchQueryText } from "../lib/nostr/search.ts";
import {
  decodeCursor,
  encodeCursor,
  type Page,
  pageLimit,
  parseEventId,
  parseKind,
  parsePubkey,
} from "./_input.ts";
import { type ServiceDeps, ServiceError } from "./deps.ts";

export {
  allowPubkey,
  banEvent,
  banPubkey,
  listBannedEvents,
  listBannedPubkeys,
  unbanEvent,
  unbanPubkey,
} from "./moderation.ts";

/** A stored event with what the relay stores beside it. */
export interface StoredEvent extends NostrEvent {
  /** NIP-40 expiration (unix seconds), or null. */
  expiresAt: number | null;
}

/** Filters of the admin event browser; every field is optional and they AND together. */
export interface EventBrowseFilter {
  /** Author pubkey (hex or npub). */
  author?: string;
  /** One kind or several (OR). */
  kinds?: number | number[];
  /** A single-letter tag and its exact value (e.g. `{ name: "t", value: "nostr" }`). */
  tag?: { name: string; value: string };
  /** created_at ≥ since (unix seconds). */
  since?: number;
  /** created_at ≤ until (unix seconds). */
  until?: number;
  /** NIP-50 full-text search (kinds of NIP_50_CONTENT_SEARCHABLE_KINDS). */
  search?: string;
}

type Fragment = postgres.Fragment;

function whole(input: unknown, what: string): number {
  const n = typeof input === "string" && /^\d+$/.test(input.trim()) ? Number(input) : input;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new ServiceError("invalid", `Cannot browse events: ${what} must be unix seconds`);
  }
  return n;
}

function conditions(deps: ServiceDeps, f: EventBrowseFilter): Fragment[] | null {
  const { sql } = deps;
  const parts: Fragment[] = [];
  if (f.author !== undefined && f.author !== "") {
    const pk = parsePubkey(f.author, "browse events");
    parts.push(
      sql`e.author_id = (select a.id from authors a where a.pubkey = decode(${pk}, 'hex'))`,
    );
  }
  if (f.kinds !== undefined) {
    const kinds = (Array.isArray(f.kinds) ? f.kinds : [f.kinds]).map((k) =>
      parseKind(k, "browse events")
    );
    if (kinds.length) parts.push(sql`e.kind = any(${kinds}::int[])`);
  }
  if (f.since !== undefined) parts.push(sql`e.created_at >= ${whole(f.since, "since")}`);
  if (f.until !== undefined) parts.push(sql`e.created_at <= ${whole(f.until, "until")}`);
  if (f.tag && (f.tag.name || f.tag.value)) {
    const { name, value } = f.tag;
    if (typeof name !== "string" || !/^[a-zA-Z]$/.test(name)) {
      throw new ServiceError("invalid", "Cannot browse events: a tag name is one letter");
    }
    if (typeof value !== "string" || value.includes("\u0000")) {
      throw new ServiceError("invalid", "Cannot browse events: the tag value must be text");
    }
    parts.push(sql`e.id in (select t.event_id from searchable_tags t
      where t.name = ${name} and t.value = ${value})`);
  }
  if (f.search !== undefined && f.search.trim() !== "") {
    const text = searchQueryText(f.search);
    if (!text.trim()) return null;
    parts.push(sql`e.id in (select c.event_id from searchable_contents c
      where c.tsv @@ websearch_to_tsquery(${deps.config.searchLanguage}::text::regconfig,
        ${text}::text))`);
  }
  return parts;
}

function storedOf(raw: string, expiresAt: number | null): StoredEvent {
  return { ...(JSON.parse(raw) as NostrEvent), expiresAt };
}

/**
 * Stored events matching `filter`, newest first (ties by id, descending), `limit` (default 50,
 * at most 500) per page; pass the returned `next` as `cursor` for the following page.
 * @throws {ServiceError} invalid filter values or cursor
 */
export async function browseEvents(
  deps: ServiceDeps,
  filter: EventBrowseFilter = {},
  options: { limit?: number; cursor?: string | null } = {},
): Promise<Page<StoredEvent>> {
  const { sql } = deps;
  const limit = pageLimit(options.limit);
  const after = decodeCursor(options.cursor, 2);
  const parts = conditions(deps, filter);
  if (parts === null) return { items: [], next: null };
  if (after) {
    const [at, id] = after;
    if (typeof at !== "number" || typeof id !== "string" || !/^[0-9a-f]{64}$/.test(id)) {
      throw new ServiceError("invalid", "Cannot read page: the cursor is not valid");
    }
    parts.push(sql`(e.created_at, e.event_id) < (${at}, decode(${id}, 'hex'))`);
  }
  const where = parts.length ? parts.reduce((acc, p) => sql`${acc} and ${p}`) : sql`true`;
  const rows = await sql<{ raw: string; expires_at: number | null; created_at: number }[]>`
    select e.raw, e.expires_at, e.created_at from events e
    where ${where}
    order by e.created_at desc, e.event_id desc
    limit ${limit + 1}`;
  const page = rows.slice(0, limit).map((r) => storedOf(r.raw, r.expires_at));
  const last = page[page.length - 1];
  return {
    items: page,
    next: rows.length > limit && last ? encodeCursor([last.created_at, last.id]) : null,
  };
}

/** What the relay knows about one event id. */
export interface EventLookup {
  /** The stored event, or null. */
  event: StoredEvent | null;
  /** On the ban list. */
  banned: boolean;
  /** Deleted by its author (NIP-09) or an admin: it cannot be stored again. */
  tombstoned: boolean;
  /** Stored NIP-56 reports (kind 1984) naming it in an `e` tag. */
  reports: number;
}

/** Everything about event `id` (hex, note or nevent). */
export async function getEvent(deps: ServiceDeps, id: string): Promise<EventLookup> {
  const eid = parseEventId(id, "read event");
  const [row] = await deps.sql<
    {
      raw: string | null;
      expires_at: number | null;
      banned: boolean;
      tombstoned: boolean;
      reports: number;
    }[]
  >`
    select (select e.raw from events e where e.event_id = decode(${eid}, 'hex')) as raw,
      (select e.expires_at from events e where e.event_id = decode(${eid}, 'hex')) as expires_at,
      exists (select 1 from banned_events b where b.event_id = decode(${eid}, 'hex')) as banned,
      exists (select 1 from delete_events d where d.event_id = decode(${eid}, 'hex'))
        as tombstoned,
      (select count(*)::int from searchable_tags t join events r on r.id = t.event_id
        where t.name = 'e' and t.value = ${eid} and r.kind = 1984) as reports`;
  return {
    event: row!.raw ? storedOf(row!.raw, row!.expires_at) : null,
    banned: row!.banned,
    tombstoned: row!.tombstoned,
    reports: row!.reports,
  };
}

/** `deletion_id` of the tombstones an admin's delete leaves (no kind-5 event exists). */
export const ADMIN_DELETION_ID = "00".repeat(32);

/**
 * Deletes stored event `id` and leaves a NIP-09 tombstone (its author's copy is refused from
 * now on, "blocked: this event was deleted by its author"), under the author's lock that
 * workers/store_event.ts takes for deletions. False when it was not stored.
 */
export async function deleteEvent(deps: ServiceDeps, id: string): Promise<boolean> {
  const eid = parseEventId(id, "delete event");
  return await deps.sql.begin(async (tx) => {
    const [found] = await tx<{ pubkey: string; author_id: number }[]>`
      select encode(a.pubkey, 'hex') as pubkey, e.author_id
      from events e join authors a on a.id = e.author_id
      where e.event_id = decode(${eid}, 'hex')`;
    if (!found) return false;
    await tx`select pg_advisory_xact_lock(1, hashtext(${found.pubkey}))`;
    await tx`
      insert into delete_events (event_id, author_id, deletion_id)
      values (decode(${eid}, 'hex'), ${found.author_id}, decode(${ADMIN_DELETION_ID}, 'hex'))
      on conflict do nothing`;
    const { count } = await tx`delete from events where event_id = decode(${eid}, 'hex')`;
    return count > 0;
  });
}
