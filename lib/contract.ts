/**
 * The one contract between the web process (relay/) and the worker process (workers/): Redis key
 * names, pub/sub channels, queue and job names, job payloads and the reply encoding. Either side
 * could be rewritten in another language from this file alone; docs/ARCHITECTURE.md describes the
 * same structures in prose.
 *
 * @module
 */
import type { Filter } from "./nostr/filter.ts";

/** Redis key and channel names, all under an optional prefix (REDIS_PREFIX). */
export function redisKeys(prefix = "") {
  const p = prefix;
  return {
    /** SET of live connection ids. */
    connections: `${p}connections`,
    /** SET of subscription ids of one connection. */
    clientReqs: (cid: string) => `${p}client_reqs:${cid}`,
    /** HASH `<cid>:<sid>` → JSON array of filters. */
    subscriptions: `${p}subscriptions`,
    /** HASH cid → authenticated pubkey (the last one when several). */
    authentications: `${p}authentications`,
    /** HASH cid → auth level 0..4. */
    authorizations: `${p}authorizations`,
    /** HASH cid → id of the kind-22242 event that authenticated it. */
    connectionsAuthenticators: `${p}connections_authenticators`,
    /** HASH cid → messages received. */
    requests: `${p}requests`,
    /** HASH cid → bytes received. */
    incomingTraffic: `${p}incoming_traffic`,
    /** HASH cid → bytes sent. */
    outgoingTraffic: `${p}outgoing_traffic`,
    /** HASH cid → client IP. */
    connectionsIps: `${p}connections_ips`,
    /** HASH cid → connect time (unix seconds). */
    connectionsStarts: `${p}connections_starts`,
    /** STRING, TTL = auth window: a kind-22242 event already used (value: cid, "" once closed). */
    events22242: (id: string) => `${p}events22242:${id}`,
    /** STRING "1" while new connections are refused. */
    maintenance: `${p}maintenance`,
    /** SET of IPs exempt from rate limiting. */
    unlimitedIps: `${p}unlimited_ips`,
    /** STRING; empty or 0 = unlimited. */
    maxAllowedConnections: `${p}max_allowed_connections`,
    /** ZSET per IP: one member per message, scored by time in ms (sliding window). */
    rateLimit: (ip: string) => `${p}requests:${ip}`,
    /** SET of the cids authenticated as a pubkey (to re-compute their levels). */
    pubkeyConnections: (pubkey: string) => `${p}pubkey_connections:${pubkey}`,
    /** HASH web node id → last heartbeat (ms); connections of a node gone silent are swept. */
    nodes: `${p}nodes`,
    /** Channel of replies for one connection (see `encodeReply`). */
    connectionChannel: (cid: string) => `${p}events:${cid}`,
    /** Pattern a web node subscribes to for all of its connections. */
    nodeChannelPattern: (nodeId: string) => `${p}events:${nodeId}*`,
    /** Channel carrying every accepted event once (canonical JSON) for live matching. */
    liveChannel: `${p}live`,
    /** BullMQ key prefix. */
    bullPrefix: `${p}bull`,
    /** SET of client IPs refused at connect (admin / NIP-86 `blockip`). */
    blockedIps: `${p}blocked_ips`,
    /** HASH IP → JSON `{reason, at}` of each blocked IP (same members as `blockedIps`). */
    blockedIpsInfo: `${p}blocked_ips_info`,
    /** HASH of NIP-11 overrides set by an admin: `name`, `description`, `icon`. */
    relayInfo: `${p}relay_info`,
    /**
     * Channel announcing a moderation change (bans, allow lists, kinds): workers drop their
     * cached moderation state. The message is the new value of `moderationVersion`.
     */
    moderationChannel: `${p}moderation`,
    /** STRING counter incremented by every moderation change (cache validation). */
    moderationVersion: `${p}moderation_version`,
    /** LIST of `<unix s>:<connections>` samples, newest first, capped at 7 days of minutes. */
    statsConnections: `${p}stats:connections`,
    /**
     * STRING with TTL: the signature of a NIP-98 event already used to authorize a NIP-86
     * request (a re-signed identical request has another signature and is accepted).
     */
    nip98Used: (sig: string) => `${p}nip98:${sig}`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/** The connection-scoped hashes, removed together when a connection ends. */
export function connectionHashes(k: RedisKeys): string[] {
  return [
    k.authentications,
    k.authorizations,
    k.connectionsAuthenticators,
    k.requests,
    k.incomingTraffic,
    k.outgoingTraffic,
    k.connectionsIps,
    k.connectionsStarts,
  ];
}

/** Length of the web node id that starts every connection id it assigns. */
export const NODE_ID_LENGTH = 8;

/** The node id embedded in a connection id. */
export function nodeOf(cid: string): string {
  return cid.slice(0, NODE_ID_LENGTH);
}

/** Queue names (BullMQ). */
export const QUEUES = {
  /** EVENT → NewEvent */
  event: "nostr-event",
  /** REQ → NewSubscription */
  req: "nostr-req",
  /** COUNT → CountRequest */
  count: "nostr-count",
  /** AUTH and fast auth → Authorize; level changes → RecomputeLevels. */
  auth: "nostr-auth",
  /** Periodic work: NIP-40 purge, connection sweep, connection samples. */
  housekeeping: "nostr-housekeeping",
} as const;

/** Job names. */
export const JOBS = {
  newEvent: "NewEvent",
  newSubscription: "NewSubscription",
  countRequest: "CountRequest",
  authorize: "Authorize",
  recomputeLevels: "RecomputeLevels",
  purgeExpired: "PurgeExpired",
  sweepConnections: "SweepConnections",
  /** Housekeeping: appends `SCARD connections` to `statsConnections` every minute. */
  sampleConnections: "SampleConnections",
} as const;

/**
 * Close of a connection from an IP in `blockedIps`: at connect (web process admission) and when
 * an admin blocks the IP of live connections (services/moderation.ts).
 */
export const BLOCKED_IP_CLOSE = Object.freeze({
  code: 3403,
  reason: "blocked: this IP address is blocked",
});

/** Connection samples kept in `statsConnections`: 7 days of one a minute. */
export const STATS_CONNECTIONS_MAX = 7 * 24 * 60;

/** Who is asking, as the web process knows it when it enqueues. */
export interface Requester {
  /** Connection id (replies go to its channel). */
  cid: string;
  /** Pubkeys this connection has authenticated (NIP-42), for DM privacy and NIP-70. */
  authed: string[];
}

/** NewEvent: store (or reject) one event, then answer OK. */
export interface NewEventJob extends Requester {
  /** Canonical JSON of the event; schema and id were checked by the web process. */
  event: string;
}

/** NewSubscription: query stored events for a REQ, answer them and EOSE. */
export interface NewSubscriptionJob extends Requester {
  sid: string;
  /**
   * Generation of this sid on the connection (a re-REQ with the same id increments it); echoed
   * in the replies so that results of a replaced subscription are dropped.
   */
  gen: number;
  filters: Filter[];
}

/** CountRequest: answer COUNT. */
export interface CountRequestJob extends Requester {
  sid: string;
  filters: Filter[];
}

/**
 * Authorize: verify a kind-22242 event (signature; the web process checked kind, challenge, relay
 * and time window) and compute the auth level of its pubkey from PostgreSQL.
 */
export interface AuthorizeJob {
  cid: string;
  /** Canonical JSON of the kind-22242 event. */
  event: string;
}

/** RecomputeLevels: the levels of these pubkeys changed (trust, subscription, user link). */
export interface RecomputeLevelsJob {
  pubkeys: string[];
}

/** Auth levels (NIP-42 + the original's membership model). */
export const LEVELS = {
  anonymous: 0,
  authenticated: 1,
  registered: 2,
  subscriber: 3,
  trusted: 4,
} as const;

/**
 * A reply published on a connection's channel: a JSON header line, then payload lines.
 * - `send`: each payload line is a complete wire message, forwarded verbatim.
 * - `events`: each payload line is a stored event (canonical JSON) for subscription `sid`;
 *   `eose` marks the last batch of the stored phase.
 * - `closed`: the subscription ended on the worker side (query failed); `reason` has a prefix.
 *   `events` and `closed` echo the `gen` of the NewSubscription job they answer.
 * - `close`: close the websocket with `code` and `reason`.
 * - `auth`: the answer to an Authorize job: `ok` false with a prefixed `reason` when the event
 *   is refused (bad signature), else the `level` of `pubkey`.
 * - `level`: the level of an authenticated `pubkey` changed (RecomputeLevels).
 */
export type ReplyHeader =
  | { op: "send" }
  | { op: "events"; sid: string; gen: number; eose: boolean }
  | { op: "closed"; sid: string; gen: number; reason: string }
  | { op: "close"; code: number; reason: string }
  | { op: "auth"; eventId: string; pubkey: string; ok: boolean; level: number; reason: string }
  | { op: "level"; pubkey: string; level: number };

/** Encodes a reply for `PUBLISH`. Payload lines must not contain "\n" (JSON never does). */
export function encodeReply(header: ReplyHeader, lines: string[] = []): string {
  return lines.length ? `${JSON.stringify(header)}\n${lines.join("\n")}` : JSON.stringify(header);
}

/** Decodes a reply published on a connection channel. */
export function decodeReply(message: string): { header: ReplyHeader; lines: string[] } {
  const parts = message.split("\n");
  const header = JSON.parse(parts[0]!) as ReplyHeader;
  return { header, lines: parts.slice(1) };
}
