/**
 * SQL for NIP-01 filters, shared by REQ (NewSubscription) and COUNT, with the semantics of
 * `matchFilter` in lib/nostr/filter.ts: fields AND together, values of one field OR together,
 * each `#x` condition is its own subquery on `searchable_tags` (two tag conditions are an AND,
 * never a shared join), since/until are inclusive, an empty list matches nothing, NIP-50 search
 * uses PostgreSQL text search, expired events are never returned. With DM privacy on, direct
 * messages (kinds 4 and 1059) are returned only to their participants. Every user value is a
 * bound parameter; hex ids are decoded to bytea in SQL.
 *
 * @module
 */
import { hexToBytes } from "@noble/hashes/utils.js";
import type postgres from "postgres";
import type { Sql } from "../lib/db.ts";
import { type Filter, tagConditions } from "../lib/nostr/filter.ts";
import { searchQueryText } from "../lib/nostr/search.ts";

/** What filter SQL depends on besides the filters. */
export interface QueryContext {
  /** Unix seconds: events with expires_at <= now are excluded. */
  now: number;
  defaultLimit: number;
  maxLimit: number;
  searchLanguage: string;
  /**
   * DM privacy (NIP_04_NIP_42_ENFORCE_KIND_4_AUTHENTICATION): null when off; otherwise the
   * pubkeys the requester authenticated, and events of DM_KINDS are returned only when their
   * author, or the value of one of their `p` tags, is among them (none when the list is empty).
   */
  dmAuthed: readonly string[] | null;
}

/** Kinds served only to their participants when DM privacy is on: NIP-04 DMs, NIP-59 gift wraps. */
export const DM_KINDS: readonly number[] = [4, 1059];

type Fragment = postgres.Fragment;

/** The rows a REQ query returns. */
export interface RawRow {
  raw: string;
}

/** The limit applied to one filter for REQ: its own or the default, capped by the maximum. */
export function effectiveLimit(
  f: Filter,
  ctx: Pick<QueryContext, "defaultLimit" | "maxLimit">,
): number {
  return Math.min(f.limit ?? ctx.defaultLimit, ctx.maxLimit);
}

/** A bytea[] parameter (a constant to the planner, so its size and values are estimated). */
function byteaArray(sql: Sql, hex: string[]): Fragment {
  return sql`${sql.array(hex.map(hexToBytes))}::bytea[]`;
}

function and(sql: Sql, parts: Fragment[]): Fragment {
  return parts.reduce((acc, p) => sql`${acc} and ${p}`);
}

/**
 * The DM privacy condition of one filter: undefined when none is needed (privacy off, the
 * filter cannot match a DM kind, or it already limits the results to the requester's own DMs
 * by authors or `#p`), null when the filter can only match DMs the requester may not see.
 * The condition is a filter on the rows the other conditions select (both participant checks
 * are index lookups, hashed once per query or probed per row as the planner prefers), so
 * filters that do not name kinds keep their plans.
 */
function dmCondition(sql: Sql, f: Filter, authed: readonly string[] | null) {
  if (authed === null) return undefined;
  const isDm = (k: number) => DM_KINDS.includes(k);
  if (f.kinds && !f.kinds.some(isDm)) return undefined;
  const mine = (values: string[] | undefined) =>
    values !== undefined && values.every((v) => authed.includes(v));
  if (authed.length && (mine(f.authors) || mine(f["#p"]))) return undefined;
  const onlyDms = f.kinds !== undefined && f.kinds.every(isDm);
  if (!authed.length) return onlyDms ? null : sql`e.kind <> all(${DM_KINDS}::int[])`;
  const participant = sql`(e.author_id in (
      select a.id from authors a where a.pubkey = any(${byteaArray(sql, [...authed])}))
    or exists (select 1 from searchable_tags t
      where t.event_id = e.id and t.name = 'p' and t.value = any(${[...authed]}::text[])))`;
  if (onlyDms) return participant;
  return sql`(e.kind <> all(${DM_KINDS}::int[]) or ${participant})`;
}

/**
 * The WHERE conditions of one filter on `events e` (limit ignored), or null when the filter
 * cannot match anything (an empty list, a search without words).
 */
export function filterConditions(sql: Sql, f: Filter, ctx: QueryContext): Fragment | null {
  const parts: Fragment[] = [sql`(e.expires_at is null or e.expires_at > ${ctx.now})`];
  const dm = dmCondition(sql, f, ctx.dmAuthed);
  if (dm === null) return null;
  if (dm) parts.push(dm);
  if (f.ids) {
    if (!f.ids.length) return null;
    parts.push(sql`e.event_id = any(${byteaArray(sql, f.ids)})`);
  }
  if (f.authors) {
    if (!f.authors.length) return null;
    parts.push(sql`e.author_id in (
      select a.id from authors a where a.pubkey = any(${byteaArray(sql, f.authors)}))`);
  }
  if (f.kinds) {
    if (!f.kinds.length) return null;
    parts.push(sql`e.kind = any(${f.kinds}::int[])`);
  }
  if (f.since !== undefined) parts.push(sql`e.created_at >= ${f.since}`);
  if (f.until !== undefined) parts.push(sql`e.created_at <= ${f.until}`);
  for (const [name, all] of tagConditions(f)) {
    // PostgreSQL text cannot hold NUL: such a value was never indexed, so it cannot match.
    const values = all.filter((v) => !v.includes("\u0000"));
    if (!values.length) return null;
    const window = [
      f.since !== undefined ? sql`and t.created_at >= ${f.since}` : sql``,
      f.until !== undefined ? sql`and t.created_at <= ${f.until}` : sql``,
    ];
    parts.push(sql`e.id in (select t.event_id from searchable_tags t
      where t.name = ${name} and t.value = any(${values}::text[]) ${window[0]!} ${window[1]!})`);
  }
  if (f.search !== undefined) {
    const text = searchQueryText(f.search);
    if (!text.trim()) return null;
    parts.push(sql`e.id in (select c.event_id from searchable_contents c
      where c.tsv @@ websearch_to_tsquery(${ctx.searchLanguage}::text::regconfig, ${text}::text))`);
  }
  return and(sql, parts);
}

/** Most values of a tag condition that a REQ walks value by value (more: one set lookup). */
export const MAX_WALKED_TAG_VALUES = 20;

/**
 * The tag condition a REQ filter is driven by: none when the filter names ids or authors (their
 * indexes are narrower) or searches; else the tag condition with the fewest values, when it has
 * at most MAX_WALKED_TAG_VALUES.
 */
function drivingTag(f: Filter): [string, string[]] | undefined {
  if (f.ids || f.authors || f.search !== undefined) return undefined;
  const tags = tagConditions(f);
  if (!tags.length) return undefined;
  let best = tags[0]!;
  for (const t of tags) if (t[1].length < best[1].length) best = t;
  const values = [...new Set(best[1].filter((v) => !v.includes("\u0000")))];
  if (!values.length || values.length > MAX_WALKED_TAG_VALUES) return undefined;
  return [best[0], values];
}

/**
 * A REQ filter with a tag condition, as `e.id in (...)`: for each value, the newest `limit`
 * matches found by walking `searchable_tags` (name, value, created_at) backwards and checking
 * the filter's other conditions on each event, stopping at `limit` (instead of collecting every
 * row of a popular tag before sorting). The newest `limit` of their union are the newest of the
 * filter: each of those is among the newest `limit` of a value it carries. Undefined when the
 * filter is not tag-driven; null when it cannot match.
 */
function tagWalk(sql: Sql, f: Filter, ctx: QueryContext, limit: number) {
  const driving = drivingTag(f);
  if (!driving) return undefined;
  const [name, values] = driving;
  const rest: Filter = { ...f };
  delete (rest as Record<string, unknown>)[`#${name}`];
  const others = filterConditions(sql, rest, ctx);
  if (others === null) return null;
  const window = [
    f.since !== undefined ? sql`and t.created_at >= ${f.since}` : sql``,
    f.until !== undefined ? sql`and t.created_at <= ${f.until}` : sql``,
  ];
  const walks = values.map((value) =>
    sql`(select e.id from searchable_tags t join events e on e.id = t.event_id
      where t.name = ${name} and t.value = ${value} ${window[0]!} ${window[1]!} and ${others}
      order by t.created_at desc, e.event_id limit ${limit})`
  );
  const union = walks.reduce((acc, w) => sql`${acc} union all ${w}`);
  return sql`e.id in (select w.id from (${union}) w)`;
}

/**
 * The REQ query: raw JSON of the stored events matching any filter, each filter limited to its
 * newest `limit`, deduplicated, newest first (ties by lowest id). Null when nothing can match.
 */
export function selectEvents(
  sql: Sql,
  filters: Filter[],
  ctx: QueryContext,
): postgres.PendingQuery<RawRow[]> | null {
  const branches: Fragment[] = [];
  for (const f of filters) {
    const limit = effectiveLimit(f, ctx);
    const walked = limit > 0 ? tagWalk(sql, f, ctx, limit) : null;
    const where = walked !== undefined ? walked : filterConditions(sql, f, ctx);
    if (where) branches.push(sql`${where} order by e.created_at desc, e.event_id limit ${limit}`);
  }
  if (!branches.length) return null;
  if (branches.length === 1) return sql<RawRow[]>`select e.raw from events e where ${branches[0]!}`;
  const union = branches
    .map((b) => sql`(select e.id from events e where ${b})`)
    .reduce((acc, b) => sql`${acc} union ${b}`);
  return sql<RawRow[]>`select e.raw from events e where e.id in (${union})
    order by e.created_at desc, e.event_id`;
}

/**
 * Internal ids of the stored events matching any filter, limits ignored, deduplicated (the
 * COUNT set). Null when nothing can match.
 */
export function matchingIds(sql: Sql, filters: Filter[], ctx: QueryContext): Fragment | null {
  const branches: Fragment[] = [];
  for (const f of filters) {
    const where = filterConditions(sql, f, ctx);
    if (where) branches.push(sql`select e.id from events e where ${where}`);
  }
  if (!branches.length) return null;
  return branches.reduce((acc, b) => sql`${acc} union ${b}`);
}
