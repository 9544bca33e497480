/**
 * Access levels an admin grants: trusted authors (level 4) and subscriptions (level 3, until an
 * expiry). Every change enqueues RecomputeLevels for the pubkeys it touched, so the levels of
 * their live connections change at once (users.ts does the same for user links).
 *
 * @module
 */
import { JOBS, type RecomputeLevelsJob } from "../lib/contract.ts";
import type { Sql } from "../lib/db.ts";
import {
  decodeCursor,
  encodeCursor,
  type Page,
  pageLimit,
  parseDays,
  parsePubkey,
} from "./_input.ts";
import { type ServiceDeps, ServiceError, withQueue } from "./deps.ts";

/** Enqueues RecomputeLevels for `pubkeys` (no-op for an empty list). */
export async function recomputeLevels(
  deps: ServiceDeps,
  pubkeys: readonly string[],
): Promise<void> {
  const list = [...new Set(pubkeys.map((p) => parsePubkey(p, "recompute levels")))];
  if (!list.length) return;
  const data: RecomputeLevelsJob = { pubkeys: list };
  await withQueue(deps, "auth", async function enqueueRecompute(queue) {
    await queue.add(JOBS.recomputeLevels, data, {
      removeOnComplete: true,
      removeOnFail: { count: 100 },
      attempts: 3,
      backoff: { type: "exponential", delay: 500 },
    });
  });
}

/** The `authors` row id of `pubkey`, created when missing. */
export async function authorId(sql: Sql, pubkey: string): Promise<number> {
  const [row] = await sql<{ id: number }[]>`
    with found as (select id from authors where pubkey = decode(${pubkey}, 'hex')),
    made as (
      insert into authors (pubkey) select decode(${pubkey}, 'hex')
      where not exists (select 1 from found)
      on conflict (pubkey) do nothing
      returning id)
    select id from found union all select id from made`;
  if (row) return row.id;
  const [again] = await sql<{ id: number }[]>`
    select id from authors where pubkey = decode(${pubkey}, 'hex')`;
  if (!again) throw new Error(`Cannot find author ${pubkey}`);
  return again.id;
}

/** A trusted author. */
export interface TrustedAuthor {
  pubkey: string;
  createdAt: Date;
}

/** Trusted authors, most recently trusted first, `limit` (default 50) per page. */
export async function listTrustedAuthors(
  deps: ServiceDeps,
  options: { limit?: number; cursor?: string | null } = {},
): Promise<Page<TrustedAuthor>> {
  const limit = pageLimit(options.limit);
  const after = decodeCursor(options.cursor, 2);
  const sql = deps.sql;
  const where = after
    ? sql`where (t.created_at, t.author_id) < (${String(after[0])}::timestamptz, ${
      Number(after[1])
    })`
    : sql``;
  const rows = await sql<{ pubkey: string; created_at: Date; at: string; author_id: number }[]>`
    select encode(a.pubkey, 'hex') as pubkey, t.created_at, t.created_at::text as at, t.author_id
    from trusted_authors t join authors a on a.id = t.author_id
    ${where}
    order by t.created_at desc, t.author_id desc
    limit ${limit + 1}`;
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({ pubkey: r.pubkey, createdAt: r.created_at })),
    next: more && last ? encodeCursor([last.at, last.author_id]) : null,
  };
}

/** Counts trusted authors. */
export async function countTrustedAuthors(deps: ServiceDeps): Promise<number> {
  const [row] = await deps.sql<{ n: number }[]>`select count(*)::int as n from trusted_authors`;
  return row!.n;
}

/** Makes `pubkey` a trusted author; false when it already was. */
export async function addTrustedAuthor(deps: ServiceDeps, pubkey: string): Promise<boolean> {
  const pk = parsePubkey(pubkey, "trust author");
  const id = await authorId(deps.sql, pk);
  const { count } = await deps.sql`
    insert into trusted_authors (author_id) values (${id}) on conflict do nothing`;
  await recomputeLevels(deps, [pk]);
  return count > 0;
}

/** Removes `pubkey` from the trusted authors; false when it was not one. */
export async function removeTrustedAuthor(deps: ServiceDeps, pubkey: string): Promise<boolean> {
  const pk = parsePubkey(pubkey, "distrust author");
  const { count } = await deps.sql`
    delete from trusted_authors t using authors a
    where a.pubkey = decode(${pk}, 'hex') and t.author_id = a.id`;
  await recomputeLevels(deps, [pk]);
  return count > 0;
}

/** A subscription (auth level 3 while active). */
export interface AuthorSubscription {
  pubkey: string;
  expiresAt: Date;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

interface SubscriptionRow {
  pubkey: string;
  expires_at: Date;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

function subscriptionOf(r: SubscriptionRow): AuthorSubscription {
  return {
    pubkey: r.pubkey,
    expiresAt: r.expires_at,
    active: r.active,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * Subscriptions, latest expiry first, `limit` (default 50) per page; `status` keeps only the
 * active (expiry in the future) or expired ones.
 */
export async function listSubscriptions(
  deps: ServiceDeps,
  options: { limit?: number; cursor?: string | null; status?: "all" | "active" | "expired" } = {},
): Promise<Page<AuthorSubscription>> {
  const limit = pageLimit(options.limit);
  const after = decodeCursor(options.cursor, 2);
  const sql = deps.sql;
  const conditions = [sql`true`];
  if (after) {
    conditions.push(
      sql`(s.expires_at, s.author_id) < (${String(after[0])}::timestamptz, ${Number(after[1])})`,
    );
  }
  if (options.status === "active") conditions.push(sql`s.expires_at > now()`);
  if (options.status === "expired") conditions.push(sql`s.expires_at <= now()`);
  const where = conditions.reduce((acc, c) => sql`${acc} and ${c}`);
  const rows = await sql<(SubscriptionRow & { at: string; author_id: number })[]>`
    select encode(a.pubkey, 'hex') as pubkey, s.expires_at, s.expires_at > now() as active,
      s.created_at, s.updated_at, s.expires_at::text as at, s.author_id
    from author_subscriptions s join authors a on a.id = s.author_id
    where ${where}
    order by s.expires_at desc, s.author_id desc
    limit ${limit + 1}`;
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(subscriptionOf),
    next: more && last ? encodeCursor([last.at, last.author_id]) : null,
  };
}

/** The subscription of `pubkey`, or null. */
export async function getSubscription(
  deps: ServiceDeps,
  pubkey: string,
): Promise<AuthorSubscription | null> {
  const pk = parsePubkey(pubkey, "read subscription");
  const [row] = await deps.sql<SubscriptionRow[]>`
    select encode(a.pubkey, 'hex') as pubkey, s.expires_at, s.expires_at > now() as active,
      s.created_at, s.updated_at
    from author_subscriptions s join authors a on a.id = s.author_id
    where a.pubkey = decode(${pk}, 'hex')`;
  return row ? subscriptionOf(row) : null;
}

/** Sets the subscription of `pubkey` to expire `days` (> 0) days from now, whatever it was. */
export async function grantSubscription(
  deps: ServiceDeps,
  pubkey: string,
  days: number,
): Promise<AuthorSubscription> {
  const pk = parsePubkey(pubkey, "grant subscription");
  const n = parseDays(days, "grant subscription");
  if (n < 0) throw new ServiceError("invalid", "Cannot grant subscription: days must be positive");
  const id = await authorId(deps.sql, pk);
  await deps.sql`
    insert into author_subscriptions (author_id, expires_at)
    values (${id}, now() + make_interval(days => ${n}))
    on conflict (author_id) do update
      set expires_at = excluded.expires_at, updated_at = now()`;
  await recomputeLevels(deps, [pk]);
  return (await getSubscription(deps, pk))!;
}

/**
 * Moves the expiry of `pubkey`'s subscription by `days`: a positive count extends it from its
 * expiry, or from now when it has already expired (a missing subscription starts now); a
 * negative count shortens it (it may end in the past, i.e. expire at once).
 * @throws {ServiceError} not_found when shortening a subscription that does not exist
 */
export async function extendSubscription(
  deps: ServiceDeps,
  pubkey: string,
  days: number,
): Promise<AuthorSubscription> {
  const pk = parsePubkey(pubkey, "extend subscription");
  const n = parseDays(days, "extend subscription");
  if (n > 0) {
    const id = await authorId(deps.sql, pk);
    await deps.sql`
      insert into author_subscriptions (author_id, expires_at)
      values (${id}, now() + make_interval(days => ${n}))
      on conflict (author_id) do update
        set expires_at = greatest(author_subscriptions.expires_at, now())
          + make_interval(days => ${n}),
          updated_at = now()`;
  } else {
    const { count } = await deps.sql`
      update author_subscriptions s
      set expires_at = s.expires_at + make_interval(days => ${n}), updated_at = now()
      from authors a
      where a.pubkey = decode(${pk}, 'hex') and s.author_id = a.id`;
    if (!count) {
      throw new ServiceError("not_found", `Cannot shorten subscription: ${pk} has none`);
    }
  }
  await recomputeLevels(deps, [pk]);
  return (await getSubscription(deps, pk))!;
}

/** Deletes the subscription of `pubkey`; false when it had none. */
export async function revokeSubscription(deps: ServiceDeps, pubkey: string): Promise<boolean> {
  const pk = parsePubkey(pubkey, "revoke subscription");
  const { count } = await deps.sql`
    delete from author_subscriptions s using authors a
    where a.pubkey = decode(${pk}, 'hex') and s.author_id = a.id`;
  await recomputeLevels(deps, [pk]);
  return count > 0;
}
