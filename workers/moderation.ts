/**
 * Moderation enforced on EVENT: banned events and pubkeys, the pubkey allow list and the kind
 * policy that services/moderation.ts manages (tables of migration 0004). Each worker process
 * keeps them in memory, so the check costs no round trip; a change announced on
 * `moderationChannel` (or a `moderationVersion` that moved, checked every REVALIDATE_MS and on
 * every reconnect of the subscriber) drops the cache and the next event waits for a fresh load.
 *
 * @module
 */
import type { RedisKeys } from "../lib/contract.ts";
import type { Sql } from "../lib/db.ts";
import { errorText, type Logger } from "../lib/log.ts";
import type { NostrEvent } from "../lib/nostr/event.ts";
import type { Redis } from "../lib/redis.ts";

/** The OK messages of refused events. */
export const MODERATION_REASONS = {
  bannedEvent: "blocked: this event is banned",
  bannedPubkey: "blocked: this pubkey is banned",
  notAllowedPubkey: "blocked: this pubkey is not on the relay's allow list",
  kind: (kind: number) => `blocked: kind ${kind} is not allowed on this relay`,
  unavailable: "error: could not check the event, try again",
} as const;

/** What the check needs, loaded from PostgreSQL. */
export interface ModerationState {
  bannedEvents: ReadonlySet<string>;
  bannedPubkeys: ReadonlySet<string>;
  /** When non-empty, only these pubkeys may publish. */
  allowedPubkeys: ReadonlySet<string>;
  /** When non-empty, only these kinds are accepted. */
  allowedKinds: ReadonlySet<number>;
  disallowedKinds: ReadonlySet<number>;
}

/** The refusal of `e` under `state`, or null when it may proceed. */
export function moderationVerdict(
  e: Pick<NostrEvent, "id" | "pubkey" | "kind">,
  state: ModerationState,
): string | null {
  if (state.bannedEvents.has(e.id)) return MODERATION_REASONS.bannedEvent;
  if (state.bannedPubkeys.has(e.pubkey)) return MODERATION_REASONS.bannedPubkey;
  if (state.allowedPubkeys.size && !state.allowedPubkeys.has(e.pubkey)) {
    return MODERATION_REASONS.notAllowedPubkey;
  }
  if (state.disallowedKinds.has(e.kind)) return MODERATION_REASONS.kind(e.kind);
  if (state.allowedKinds.size && !state.allowedKinds.has(e.kind)) {
    return MODERATION_REASONS.kind(e.kind);
  }
  return null;
}

/** Reads the moderation tables in one round trip. */
export async function loadModerationState(sql: Sql): Promise<ModerationState> {
  const [row] = await sql<
    {
      banned_events: string[];
      banned_pubkeys: string[];
      allowed_pubkeys: string[];
      allowed_kinds: number[];
      disallowed_kinds: number[];
    }[]
  >`
    select
      array(select encode(event_id, 'hex') from banned_events) as banned_events,
      array(select encode(pubkey, 'hex') from banned_pubkeys) as banned_pubkeys,
      array(select encode(pubkey, 'hex') from allowed_pubkeys) as allowed_pubkeys,
      array(select kind from kind_policy where allowed) as allowed_kinds,
      array(select kind from kind_policy where not allowed) as disallowed_kinds`;
  return {
    bannedEvents: new Set(row!.banned_events),
    bannedPubkeys: new Set(row!.banned_pubkeys),
    allowedPubkeys: new Set(row!.allowed_pubkeys),
    allowedKinds: new Set(row!.allowed_kinds),
    disallowedKinds: new Set(row!.disallowed_kinds),
  };
}

/** The cached check of one worker process. */
export interface ModerationGate {
  /** The refusal of `e` (a NIP-01 prefixed OK message), or null. */
  check(e: Pick<NostrEvent, "id" | "pubkey" | "kind">): Promise<string | null>;
  /** Unsubscribes and stops the revalidation timer. */
  close(): Promise<void>;
}

/** How often the gate compares `moderationVersion` with the version it loaded. */
export const REVALIDATE_MS = 1000;
/** After a failed load, the previous state is used for this long before trying again. */
export const RETRY_MS = 1000;

/** Starts the gate: subscribes to `moderationChannel`; the first check loads the state. */
export async function startModerationGate(
  deps: { sql: Sql; redis: Redis; keys: RedisKeys; log: Logger },
  options: { revalidateMs?: number } = {},
): Promise<ModerationGate> {
  const { sql, redis, keys, log } = deps;
  let state: ModerationState | undefined;
  let loaded: string | null = null;
  let stale = true;
  let failedAt = 0;
  let loading: Promise<ModerationState> | undefined;
  const sub = redis.duplicate();
  let lastError = 0;
  sub.on("error", function moderationSubscriberError(err: unknown) {
    if (Date.now() - lastError < 10_000) return;
    lastError = Date.now();
    log.warn("Moderation subscriber error", { error: errorText(err) });
  });
  sub.on("message", function moderationChanged() {
    stale = true;
  });
  sub.on("ready", function moderationResubscribed() {
    // messages may have been missed while disconnected
    stale = true;
  });
  await sub.subscribe(keys.moderationChannel);

  async function load(): Promise<ModerationState> {
    stale = false;
    try {
      const version = await redis.get(keys.moderationVersion);
      const next = await loadModerationState(sql);
      state = next;
      loaded = version;
      return next;
    } catch (err) {
      stale = true;
      failedAt = Date.now();
      throw err;
    } finally {
      loading = undefined;
    }
  }

  async function current(): Promise<ModerationState | undefined> {
    if (state && !stale) return state;
    if (state && Date.now() - failedAt < RETRY_MS) return state;
    try {
      return await (loading ??= load());
    } catch (err) {
      log.error("Cannot load moderation state", { error: errorText(err), cached: !!state });
      return state;
    }
  }

  const timer = setInterval(function revalidateModeration() {
    redis.get(keys.moderationVersion).then(
      function compareVersion(version) {
        if (version !== loaded) stale = true;
      },
      function versionUnreadable() {
        // the subscriber's reconnect marks the state stale
      },
    );
  }, options.revalidateMs ?? REVALIDATE_MS);
  Deno.unrefTimer(timer);

  return {
    async check(e) {
      const s = await current();
      if (!s) return MODERATION_REASONS.unavailable;
      return moderationVerdict(e, s);
    },
    async close() {
      clearInterval(timer);
      await sub.quit().catch(() => sub.disconnect());
    },
  };
}

/** The moderation refusal of `e` for a NewEvent job, or null (also without a gate). */
export async function moderationRefusal(
  e: Pick<NostrEvent, "id" | "pubkey" | "kind">,
  deps: { moderation?: ModerationGate },
): Promise<string | null> {
  return deps.moderation ? await deps.moderation.check(e) : null;
}
