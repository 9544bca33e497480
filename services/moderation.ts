/**
 * Moderation, shared by the admin pages and NIP-86: bans and allow lists of pubkeys and events,
 * the events needing moderation (NIP-56 reports), the kind policy, blocked IPs, the NIP-11 name,
 * description and icon overrides, and NIP-86 roles and method grants.
 *
 * Enforcement: workers/moderation.ts caches the bans, allow lists and kind policy and drops its
 * cache when `announceModerationChange` publishes on `moderationChannel`, so every change below
 * applies to the next EVENT. A banned event is also deleted, so REQ stops serving it at once.
 * Blocked IPs are the Redis set the web process checks at every connect (live connections from a
 * newly blocked IP are closed). NIP-11 overrides are the Redis hash relay/nip11.ts reads.
 *
 * @module
 */
import { BLOCKED_IP_CLOSE } from "../lib/contract.ts";
import {
  decodeCursor,
  encodeCursor,
  type Page,
  pageLimit,
  parseEventId,
  parseIp,
  parseKind,
  parsePubkey,
  parseReason,
} from "./_input.ts";
import { closeConnection } from "./connections.ts";
import { type ServiceDeps, ServiceError } from "./deps.ts";
import { isAdminPubkey } from "./users.ts";

/** Tells every worker to drop its moderation cache (the next EVENT sees the change). */
export async function announceModerationChange(
  deps: Pick<ServiceDeps, "redis" | "keys">,
): Promise<void> {
  const version = await deps.redis.incr(deps.keys.moderationVersion);
  await deps.redis.publish(deps.keys.moderationChannel, String(version));
}

/** A pubkey on the ban or allow list. */
export interface ListedPubkey {
  pubkey: string;
  reason: string;
  createdAt: Date;
}

/** An event on the ban or allow list (`pubkey` of a banned event when it was stored). */
export interface ListedEvent {
  id: string;
  reason: string;
  createdAt: Date;
  pubkey?: string | null;
}

type PageOptions = { limit?: number; cursor?: string | null };

/** Largest page of a moderation list (NIP-86 list methods read every page). */
export const MAX_LIST_PAGE = 5000;

async function listPubkeys(
  deps: ServiceDeps,
  table: "banned_pubkeys" | "allowed_pubkeys",
  options: PageOptions,
): Promise<Page<ListedPubkey>> {
  const { sql } = deps;
  const limit = pageLimit(options.limit, 50, MAX_LIST_PAGE);
  const after = decodeCursor(options.cursor, 2);
  const rows = await sql<{ pubkey: string; reason: string; created_at: Date; at: string }[]>`
    select encode(pubkey, 'hex') as pubkey, reason, created_at, created_at::text as at
    from ${sql(table)}
    where ${
    after
      ? sql`(created_at, pubkey) < (${String(after[0])}::timestamptz, decode(${
        String(after[1])
      }, 'hex'))`
      : sql`true`
  }
    order by created_at desc, pubkey desc
    limit ${limit + 1}`;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({ pubkey: r.pubkey, reason: r.reason, createdAt: r.created_at })),
    next: rows.length > limit && last ? encodeCursor([last.at, last.pubkey]) : null,
  };
}

/** Events deleted per statement when a banned pubkey's events are purged. */
export const PURGE_BATCH = 5000;

/**
 * Bans `pubkey` (its events are refused from now on) and removes it from the allow list;
 * `deleteEvents` also deletes every event it has stored. Returns whether it was newly banned
 * and how many events were deleted.
 */
export async function banPubkey(
  deps: ServiceDeps,
  pubkey: string,
  options: { reason?: string; deleteEvents?: boolean } = {},
): Promise<{ banned: boolean; deleted: number }> {
  const pk = parsePubkey(pubkey, "ban pubkey");
  const reason = parseReason(options.reason);
  const banned = await deps.sql.begin(async (tx) => {
    await tx`delete from allowed_pubkeys where pubkey = decode(${pk}, 'hex')`;
    const [row] = await tx<{ inserted: boolean }[]>`
      insert into banned_pubkeys (pubkey, reason) values (decode(${pk}, 'hex'), ${reason})
      on conflict (pubkey) do update
        set reason = case when excluded.reason <> '' then excluded.reason
          else banned_pubkeys.reason end
      returning (xmax = 0) as inserted`;
    return row!.inserted;
  });
  await announceModerationChange(deps);
  let deleted = 0;
  if (options.deleteEvents) {
    for (;;) {
      const { count } = await deps.sql`
        delete from events where id in (
          select e.id from events e join authors a on a.id = e.author_id
          where a.pubkey = decode(${pk}, 'hex') limit ${PURGE_BATCH})`;
      deleted += count;
      if (count < PURGE_BATCH) break;
    }
  }
  return { banned, deleted };
}

/** Removes `pubkey` from the ban list (not adding it to the allow list); false when absent. */
export async function unbanPubkey(deps: ServiceDeps, pubkey: string): Promise<boolean> {
  const pk = parsePubkey(pubkey, "unban pubkey");
  const { count } = await deps.sql`delete from banned_pubkeys where pubkey = decode(${pk}, 'hex')`;
  await announceModerationChange(deps);
  return count > 0;
}

/**
 * Adds `pubkey` to the allow list (removing it from the ban list). While the allow list has
 * any pubkey, only allowed pubkeys may publish.
 */
export async function allowPubkey(
  deps: ServiceDeps,
  pubkey: string,
  reason?: string,
): Promise<boolean> {
  const pk = parsePubkey(pubkey, "allow pubkey");
  const r = parseReason(reason);
  const added = await deps.sql.begin(async (tx) => {
    await tx`delete from banned_pubkeys where pubkey = decode(${pk}, 'hex')`;
    const { count } = await tx`
      insert into allowed_pubkeys (pubkey, reason) values (decode(${pk}, 'hex'), ${r})
      on conflict (pubkey) do nothing`;
    return count > 0;
  });
  await announceModerationChange(deps);
  return added;
}

/** Removes `pubkey` from the allow list (not banning it); false when absent. */
export async function unallowPubkey(deps: ServiceDeps, pubkey: string): Promise<boolean> {
  const pk = parsePubkey(pubkey, "unallow pubkey");
  const { count } = await deps.sql`
    delete from allowed_pubkeys where pubkey = decode(${pk}, 'hex')`;
  await announceModerationChange(deps);
  return count > 0;
}

/** Banned pubkeys, most recent first. */
export function listBannedPubkeys(
  deps: ServiceDeps,
  options: PageOptions = {},
): Promise<Page<ListedPubkey>> {
  return listPubkeys(deps, "banned_pubkeys", options);
}

/** Allowed pubkeys, most recent first. */
export function listAllowedPubkeys(
  deps: ServiceDeps,
  options: PageOptions = {},
): Promise<Page<ListedPubkey>> {
  return listPubkeys(deps, "allowed_pubkeys", options);
}

/** True when `pubkey` is banned. */
export async function isPubkeyBanned(deps: ServiceDeps, pubkey: string): Promise<boolean> {
  const pk = parsePubkey(pubkey, "read ban");
  const [row] = await deps.sql`select 1 from banned_pubkeys where pubkey = decode(${pk}, 'hex')`;
  return row !== undefined;
}

/**
 * Bans event `id`: it is deleted when stored (REQ stops serving it at once) and refused from
 * now on; it leaves the allow list. Takes the author's lock that workers/store_event.ts takes,
 * so the delete cannot interleave with a store of the same author. Returns whether it was newly
 * banned and whether a stored copy was deleted.
 */
export async function banEvent(
  deps: ServiceDeps,
  id: string,
  reason?: string,
): Promise<{ banned: boolean; deleted: boolean }> {
  const eid = parseEventId(id, "ban event");
  const r = parseReason(reason);
  const result = await deps.sql.begin(async (tx) => {
    const [stored] = await tx<{ pubkey: string }[]>`
      select encode(a.pubkey, 'hex') as pubkey from events e join authors a on a.id = e.author_id
      where e.event_id = decode(${eid}, 'hex')`;
    if (stored) await tx`select pg_advisory_xact_lock(1, hashtext(${stored.pubkey}))`;
    await tx`delete from allowed_events where event_id = decode(${eid}, 'hex')`;
    const { count } = await tx`
      insert into banned_events (event_id, pubkey, reason)
      values (decode(${eid}, 'hex'), ${stored ? tx`decode(${stored.pubkey}, 'hex')` : null}, ${r})
      on conflict (event_id) do nothing`;
    const deleted = await tx`delete from events where event_id = decode(${eid}, 'hex')`;
    return { banned: count > 0, deleted: deleted.count > 0 };
  });
  await announceModerationChange(deps);
  return result;
}

/** Removes event `id` from the ban list (it may be published again); false when absent. */
export async function unbanEvent(deps: ServiceDeps, id: string): Promise<boolean> {
  const eid = parseEventId(id, "unban event");
  const { count } = await deps.sql`
    delete from banned_events where event_id = decode(${eid}, 'hex')`;
  await announceModerationChange(deps);
  return count > 0;
}

/** Marks event `id` reviewed and kept (removing any ban): it leaves the moderation queue. */
export async function allowEvent(deps: ServiceDeps, id: string, reason?: string): Promise<boolean> {
  const eid = parseEventId(id, "allow event");
  const r = parseReason(reason);
  const added = await deps.sql.begin(async (tx) => {
    await tx`delete from banned_events where event_id = decode(${eid}, 'hex')`;
    const { count } = await tx`
      insert into allowed_events (event_id, reason) values (decode(${eid}, 'hex'), ${r})
      on conflict (event_id) do nothing`;
    return count > 0;
  });
  await announceModerationChange(deps);
  return added;
}

/** Removes event `id` from the allow list (not banning it); false when absent. */
export async function unallowEvent(deps: ServiceDeps, id: string): Promise<boolean> {
  const eid = parseEventId(id, "unallow event");
  const { count } = await deps.sql`
    delete from allowed_events where event_id = decode(${eid}, 'hex')`;
  await announceModerationChange(deps);
  return count > 0;
}

async function listEvents(
  deps: ServiceDeps,
  table: "banned_events" | "allowed_events",
  options: PageOptions,
): Promise<Page<ListedEvent>> {
  const { sql } = deps;
  const limit = pageLimit(options.limit, 50, MAX_LIST_PAGE);
  const after = decodeCursor(options.cursor, 2);
  const pubkey = table === "banned_events" ? sql`encode(pubkey, 'hex')` : sql`null::text`;
  const rows = await sql<
    { id: string; pubkey: string | null; reason: string; created_at: Date; at: string }[]
  >`
    select encode(event_id, 'hex') as id, ${pubkey} as pubkey, reason, created_at,
      created_at::text as at
    from ${sql(table)}
    where ${
    after
      ? sql`(created_at, event_id) < (${String(after[0])}::timestamptz, decode(${
        String(after[1])
      }, 'hex'))`
      : sql`true`
  }
    order by created_at desc, event_id desc
    limit ${limit + 1}`;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({
      id: r.id,
      reason: r.reason,
      createdAt: r.created_at,
      ...(table === "banned_events" ? { pubkey: r.pubkey } : {}),
    })),
    next: rows.length > limit && last ? encodeCursor([last.at, last.id]) : null,
  };
}

/** Banned events, most recent first. */
export function listBannedEvents(
  deps: ServiceDeps,
  options: PageOptions = {},
): Promise<Page<ListedEvent>> {
  return listEvents(deps, "banned_events", options);
}

/** Allowed (reviewed) events, most recent first. */
export function listAllowedEvents(
  deps: ServiceDeps,
  options: PageOptions = {},
): Promise<Page<ListedEvent>> {
  return listEvents(deps, "allowed_events", options);
}

/** A stored event reported with NIP-56 (kind 1984) and not yet banned or allowed. */
export interface ReportedEvent {
  id: string;
  pubkey: string;
  kind: number;
  /** Report types given (`nudity`, `spam`, …), as a sentence for NIP-86 `reason`. */
  reason: string;
  types: string[];
  reports: number;
  /** created_at of the newest report (unix seconds). */
  lastReportAt: number;
}

/** Reports read (newest first) to build the moderation queue. */
export const REPORTS_SCANNED = 10_000;

/**
 * Events needing moderation: stored, unexpired events referenced by an `e` tag of one of the
 * newest REPORTS_SCANNED stored reports (kind 1984), not banned and not allowed; most recently
 * reported first.
 */
export async function listEventsNeedingModeration(
  deps: ServiceDeps,
  options: { limit?: number } = {},
): Promise<ReportedEvent[]> {
  const limit = pageLimit(options.limit, 100, MAX_LIST_PAGE);
  const now = Math.floor(Date.now() / 1000);
  const rows = await deps.sql<
    {
      id: string;
      pubkey: string;
      kind: number;
      types: string[];
      reports: number;
      last_report: number;
    }[]
  >`
    with reports as (
      select e.created_at, e.raw::jsonb -> 'tags' as tags from events e
      where e.kind = 1984 and (e.expires_at is null or e.expires_at > ${now})
      order by e.created_at desc limit ${REPORTS_SCANNED}),
    targets as (
      select t ->> 1 as id, nullif(t ->> 2, '') as type, r.created_at
      from reports r, jsonb_array_elements(r.tags) t
      where jsonb_typeof(t) = 'array' and t ->> 0 = 'e' and (t ->> 1) ~ '^[0-9a-f]{64}$'),
    grouped as (
      select id, count(*)::int as reports, max(created_at) as last_report,
        array_remove(array_agg(distinct type), null) as types
      from targets group by id)
    select g.id, encode(a.pubkey, 'hex') as pubkey, ev.kind, g.types, g.reports, g.last_report
    from grouped g
    join events ev on ev.event_id = decode(g.id, 'hex')
      and (ev.expires_at is null or ev.expires_at > ${now})
    join authors a on a.id = ev.author_id
    where not exists (select 1 from banned_events b where b.event_id = ev.event_id)
      and not exists (select 1 from allowed_events w where w.event_id = ev.event_id)
    order by g.last_report desc, g.id
    limit ${limit}`;
  return rows.map((r) => ({
    id: r.id,
    pubkey: r.pubkey,
    kind: r.kind,
    types: r.types,
    reports: r.reports,
    reason: `${r.reports} report${r.reports === 1 ? "" : "s"}${
      r.types.length ? `: ${r.types.join(", ")}` : ""
    }`,
    lastReportAt: r.last_report,
  }));
}

/** The kind policy: `allowed` non-empty means only those kinds are accepted. */
export interface KindPolicy {
  allowed: number[];
  disallowed: number[];
}

async function setKind(deps: ServiceDeps, kind: number, allowed: boolean, what: string) {
  const k = parseKind(kind, what);
  await deps.sql`
    insert into kind_policy (kind, allowed) values (${k}, ${allowed})
    on conflict (kind) do update set allowed = excluded.allowed, created_at = now()`;
  await announceModerationChange(deps);
}

/**
 * Adds `kind` to the allow list (and takes it off the disallowed kinds). Once any kind is
 * allowed, every kind not allowed is refused.
 */
export async function allowKind(deps: ServiceDeps, kind: number): Promise<void> {
  await setKind(deps, kind, true, "allow kind");
}

/** Refuses `kind` from now on (and takes it off the allow list). */
export async function disallowKind(deps: ServiceDeps, kind: number): Promise<void> {
  await setKind(deps, kind, false, "disallow kind");
}

/** Removes `kind` from both lists; false when it was on neither. */
export async function clearKind(deps: ServiceDeps, kind: number): Promise<boolean> {
  const k = parseKind(kind, "clear kind");
  const { count } = await deps.sql`delete from kind_policy where kind = ${k}`;
  await announceModerationChange(deps);
  return count > 0;
}

/** The allowed and disallowed kinds, ascending. */
export async function getKindPolicy(deps: ServiceDeps): Promise<KindPolicy> {
  const rows = await deps.sql<{ kind: number; allowed: boolean }[]>`
    select kind, allowed from kind_policy order by kind`;
  return {
    allowed: rows.filter((r) => r.allowed).map((r) => r.kind),
    disallowed: rows.filter((r) => !r.allowed).map((r) => r.kind),
  };
}

/** A blocked IP. */
export interface BlockedIp {
  ip: string;
  reason: string;
  /** When it was blocked (null when unknown). */
  createdAt: Date | null;
}

/**
 * Blocks `ip`: new connections from it are closed at connect with BLOCKED_IP_CLOSE, and its live
 * connections are closed the same way. Returns whether it was newly blocked and how many live
 * connections were closed.
 */
export async function blockIp(
  deps: ServiceDeps,
  ip: string,
  reason?: string,
): Promise<{ blocked: boolean; closed: number }> {
  const addr = parseIp(ip, "block IP");
  const r = parseReason(reason);
  const k = deps.keys;
  const results = (await deps.redis.multi()
    .sadd(k.blockedIps, addr)
    .hset(k.blockedIpsInfo, addr, JSON.stringify({ reason: r, at: Date.now() }))
    .exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw new Error(`Cannot block IP: ${failed[0]!.message}`);
  const ips = await deps.redis.hgetall(k.connectionsIps);
  let closed = 0;
  for (const [cid, connIp] of Object.entries(ips)) {
    if (connIp.toLowerCase() !== addr) continue;
    await closeConnection(deps, cid, BLOCKED_IP_CLOSE);
    closed++;
  }
  return { blocked: Number(results[0]![1]) === 1, closed };
}

/** Unblocks `ip`; false when it was not blocked. */
export async function unblockIp(deps: ServiceDeps, ip: string): Promise<boolean> {
  const addr = parseIp(ip, "unblock IP");
  const k = deps.keys;
  const results = (await deps.redis.multi()
    .srem(k.blockedIps, addr)
    .hdel(k.blockedIpsInfo, addr)
    .exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw new Error(`Cannot unblock IP: ${failed[0]!.message}`);
  return Number(results[0]![1]) === 1;
}

/** Blocked IPs, sorted. */
export async function listBlockedIps(deps: ServiceDeps): Promise<BlockedIp[]> {
  const [ips, info] = await Promise.all([
    deps.redis.smembers(deps.keys.blockedIps),
    deps.redis.hgetall(deps.keys.blockedIpsInfo),
  ]);
  return ips.sort().map((ip) => {
    let reason = "";
    let createdAt: Date | null = null;
    try {
      const v = JSON.parse(info[ip] ?? "{}") as { reason?: unknown; at?: unknown };
      if (typeof v.reason === "string") reason = v.reason;
      if (typeof v.at === "number") createdAt = new Date(v.at);
    } catch {
      // an unreadable entry still lists the IP
    }
    return { ip, reason, createdAt };
  });
}

/** NIP-11 fields an admin may override. */
export interface RelayInfoOverrides {
  name?: string;
  description?: string;
  icon?: string;
}

/** The NIP-11 overrides set by an admin (absent fields use the configuration). */
export async function getRelayInfo(
  deps: Pick<ServiceDeps, "redis" | "keys">,
): Promise<RelayInfoOverrides> {
  const all = await deps.redis.hgetall(deps.keys.relayInfo);
  const out: RelayInfoOverrides = {};
  if (all.name !== undefined) out.name = all.name;
  if (all.description !== undefined) out.description = all.description;
  if (all.icon !== undefined) out.icon = all.icon;
  return out;
}

async function setRelayInfo(
  deps: Pick<ServiceDeps, "redis" | "keys">,
  field: keyof RelayInfoOverrides,
  value: string | null,
): Promise<void> {
  if (value === null) await deps.redis.hdel(deps.keys.relayInfo, field);
  else await deps.redis.hset(deps.keys.relayInfo, field, value);
}

function text(input: unknown, what: string, max: number): string {
  if (typeof input !== "string") throw new ServiceError("invalid", `Cannot ${what}: expected text`);
  const s = input.trim();
  if (s.length > max) {
    throw new ServiceError("invalid", `Cannot ${what}: at most ${max} characters are allowed`);
  }
  return s;
}

/** Overrides the NIP-11 name (null restores the configured one). */
export async function changeRelayName(deps: ServiceDeps, name: string | null): Promise<void> {
  await setRelayInfo(deps, "name", name === null ? null : text(name, "change relay name", 100));
}

/** Overrides the NIP-11 description (null restores the configured one). */
export async function changeRelayDescription(
  deps: ServiceDeps,
  description: string | null,
): Promise<void> {
  const value = description === null ? null : text(description, "change relay description", 5000);
  await setRelayInfo(deps, "description", value);
}

/** Overrides the NIP-11 icon with an http(s) URL (empty hides it; null restores the config). */
export async function changeRelayIcon(deps: ServiceDeps, icon: string | null): Promise<void> {
  if (icon === null) return await setRelayInfo(deps, "icon", null);
  const url = text(icon, "change relay icon", 2000);
  if (url !== "" && !/^https?:\/\/[^\s/]+/i.test(url)) {
    throw new ServiceError("invalid", "Cannot change relay icon: expected an http(s) URL");
  }
  await setRelayInfo(deps, "icon", url);
}

/** The NIP-86 methods this relay implements (`supportedmethods` lists those a caller may use). */
export const NIP86_METHODS = [
  "supportedmethods",
  "banpubkey",
  "unbanpubkey",
  "listbannedpubkeys",
  "allowpubkey",
  "unallowpubkey",
  "listallowedpubkeys",
  "listeventsneedingmoderation",
  "allowevent",
  "unallowevent",
  "banevent",
  "unbanevent",
  "listbannedevents",
  "listallowedevents",
  "changerelayname",
  "changerelaydescription",
  "changerelayicon",
  "allowkind",
  "disallowkind",
  "listallowedkinds",
  "listdisallowedkinds",
  "blockip",
  "unblockip",
  "listblockedips",
  "createrole",
  "editrole",
  "deleterole",
  "assignrole",
  "unassignrole",
  "assignmethod",
  "unassignmethod",
  "listmethodassignees",
] as const;

/** A NIP-86 method name. */
export type Nip86Method = typeof NIP86_METHODS[number];

/** A NIP-86 role. */
export interface Role {
  id: string;
  label: string;
  description: string;
  color: string;
  order: number;
  /** Pubkeys holding it. */
  pubkeys: string[];
}

/** The fields of `createrole` / `editrole`: `[id, label, description, color, order]`. */
export interface RoleInput {
  id: string;
  label?: string;
  description?: string;
  color?: string;
  order?: number;
}

function roleFields(input: RoleInput, what: string) {
  const id = text(input.id, what, 64);
  if (!id) throw new ServiceError("invalid", `Cannot ${what}: the role id is empty`);
  const order = input.order ?? 0;
  if (!Number.isSafeInteger(order)) {
    throw new ServiceError("invalid", `Cannot ${what}: order must be a whole number`);
  }
  return {
    id,
    label: text(input.label ?? "", what, 200),
    description: text(input.description ?? "", what, 2000),
    color: text(input.color ?? "", what, 50),
    order,
  };
}

/** Creates a role. @throws {ServiceError} conflict when the id exists */
export async function createRole(deps: ServiceDeps, input: RoleInput): Promise<void> {
  const r = roleFields(input, "create role");
  const { count } = await deps.sql`
    insert into nip86_roles (id, label, description, color, position)
    values (${r.id}, ${r.label}, ${r.description}, ${r.color}, ${r.order})
    on conflict (id) do nothing`;
  if (!count) throw new ServiceError("conflict", `Cannot create role: "${r.id}" exists`);
}

/** Updates a role. @throws {ServiceError} not_found */
export async function editRole(deps: ServiceDeps, input: RoleInput): Promise<void> {
  const r = roleFields(input, "edit role");
  const { count } = await deps.sql`
    update nip86_roles set label = ${r.label}, description = ${r.description}, color = ${r.color},
      position = ${r.order}
    where id = ${r.id}`;
  if (!count) throw new ServiceError("not_found", `Cannot edit role: no role "${r.id}"`);
}

/** Deletes a role and its assignments. @throws {ServiceError} not_found */
export async function deleteRole(deps: ServiceDeps, id: string): Promise<void> {
  const { count } = await deps.sql`delete from nip86_roles where id = ${
    text(id, "delete role", 64)
  }`;
  if (!count) throw new ServiceError("not_found", `Cannot delete role: no role "${id}"`);
}

/** Gives role `roleId` to `pubkey`. @throws {ServiceError} not_found for an unknown role */
export async function assignRole(deps: ServiceDeps, pubkey: string, roleId: string): Promise<void> {
  const pk = parsePubkey(pubkey, "assign role");
  const id = text(roleId, "assign role", 64);
  const [role] = await deps.sql`select 1 from nip86_roles where id = ${id}`;
  if (!role) throw new ServiceError("not_found", `Cannot assign role: no role "${id}"`);
  await deps.sql`
    insert into nip86_role_members (pubkey, role_id) values (decode(${pk}, 'hex'), ${id})
    on conflict do nothing`;
}

/** Takes role `roleId` from `pubkey`; false when it did not hold it. */
export async function unassignRole(
  deps: ServiceDeps,
  pubkey: string,
  roleId: string,
): Promise<boolean> {
  const pk = parsePubkey(pubkey, "unassign role");
  const { count } = await deps.sql`
    delete from nip86_role_members
    where pubkey = decode(${pk}, 'hex') and role_id = ${text(roleId, "unassign role", 64)}`;
  return count > 0;
}

/** Every role with its holders, by order then id. */
export async function listRoles(deps: ServiceDeps): Promise<Role[]> {
  const rows = await deps.sql<
    {
      id: string;
      label: string;
      description: string;
      color: string;
      position: number;
      pubkeys: string[];
    }[]
  >`
    select r.id, r.label, r.description, r.color, r.position,
      coalesce(array_agg(encode(m.pubkey, 'hex') order by m.created_at)
        filter (where m.pubkey is not null), '{}') as pubkeys
    from nip86_roles r left join nip86_role_members m on m.role_id = r.id
    group by r.id order by r.position, r.id`;
  return rows.map((r) => ({
    id: r.id,
    label: r.label,
    description: r.description,
    color: r.color,
    order: r.position,
    pubkeys: r.pubkeys,
  }));
}

/**
 * Grants `pubkey` the right to call NIP-86 `method`; `[false, why]` for a method this relay
 * does not implement (the NIP's result shape).
 */
export async function assignMethod(
  deps: ServiceDeps,
  pubkey: string,
  method: string,
): Promise<[boolean, string]> {
  const pk = parsePubkey(pubkey, "assign method");
  if (!(NIP86_METHODS as readonly string[]).includes(method)) {
    return [false, `unknown method ${JSON.stringify(method)}`];
  }
  const { count } = await deps.sql`
    insert into nip86_method_grants (pubkey, method) values (decode(${pk}, 'hex'), ${method})
    on conflict do nothing`;
  return [true, count ? "granted" : "already granted"];
}

/** Revokes a grant of `assignMethod`; `[false, why]` when there was none. */
export async function unassignMethod(
  deps: ServiceDeps,
  pubkey: string,
  method: string,
): Promise<[boolean, string]> {
  const pk = parsePubkey(pubkey, "unassign method");
  const { count } = await deps.sql`
    delete from nip86_method_grants where pubkey = decode(${pk}, 'hex') and method = ${method}`;
  return count ? [true, "revoked"] : [false, "not granted"];
}

/** Pubkeys with method grants and their methods. */
export async function listMethodAssignees(
  deps: ServiceDeps,
): Promise<{ pubkey: string; methods: string[] }[]> {
  const rows = await deps.sql<{ pubkey: string; methods: string[] }[]>`
    select encode(pubkey, 'hex') as pubkey, array_agg(method order by method) as methods
    from nip86_method_grants group by pubkey order by pubkey`;
  return rows.map((r) => ({ pubkey: r.pubkey, methods: r.methods }));
}

/**
 * The NIP-86 methods `pubkey` may call: all of them for an admin (ADMIN_PUBKEYS or linked to an
 * admin user), else its grants (plus `supportedmethods` when it has any); empty = none.
 */
export async function allowedMethods(
  deps: ServiceDeps,
  pubkey: string,
): Promise<readonly Nip86Method[]> {
  if (await isAdminPubkey(deps, pubkey)) return NIP86_METHODS;
  const pk = parsePubkey(pubkey, "read grants");
  const rows = await deps.sql<{ method: string }[]>`
    select method from nip86_method_grants where pubkey = decode(${pk}, 'hex')`;
  const granted = new Set(rows.map((r) => r.method));
  if (!granted.size) return [];
  return NIP86_METHODS.filter((m) => m === "supportedmethods" || granted.has(m));
}
