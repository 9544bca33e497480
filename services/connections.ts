/**
 * Live connections, read from the Redis state every web process keeps (lib/contract.ts):
 * `connections`, the per-connection hashes, `client_reqs:<cid>` and `subscriptions`. Closing one
 * publishes a `close` reply on its channel; when no web process receives it (the connection's
 * process is gone), its Redis state is removed here instead.
 *
 * @module
 */
import { connectionHashes, encodeReply, nodeOf } from "../lib/contract.ts";
import { type ServiceDeps, ServiceError } from "./deps.ts";

/** One live connection as the admin sees it. */
export interface ConnectionInfo {
  /** Connection id (its first 8 chars are the web node id). */
  id: string;
  node: string;
  ip: string | null;
  /** The authenticated pubkey (the last one when several), or null. */
  pubkey: string | null;
  /** Auth level 0..4. */
  level: number;
  /** Id of the kind-22242 event that authenticated the connection, or null. */
  authEventId: string | null;
  /** Open subscription ids. */
  subscriptions: string[];
  /** Messages received. */
  requests: number;
  bytesIn: number;
  bytesOut: number;
  /** Connect time, unix seconds (null when unknown). */
  startedAt: number | null;
  /** Seconds since connect (null when unknown). */
  ageSeconds: number | null;
}

/** One connection with the filters of each of its subscriptions. */
export interface ConnectionDetail extends ConnectionInfo {
  filters: Record<string, unknown[]>;
}

/** Totals over all web processes. */
export interface ConnectionCounts {
  connections: number;
  authenticated: number;
  subscriptions: number;
  /** Web processes with a heartbeat entry. */
  nodes: number;
}

/** The close a connection closed by an admin receives. */
export const ADMIN_CLOSE = Object.freeze({
  code: 3502,
  reason: "restricted: connection was closed by the server",
});

const CID = /^[0-9a-f]{32}$/;

function checkCid(cid: unknown, what: string): string {
  if (typeof cid !== "string" || !CID.test(cid)) {
    throw new ServiceError(
      "invalid",
      `Cannot ${what}: ${JSON.stringify(cid)} is not a connection id`,
    );
  }
  return cid;
}

function num(v: string | null | undefined): number {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/** Reads the hashes of `cids` in one pipeline. */
async function readConnections(deps: ServiceDeps, cids: string[]): Promise<ConnectionInfo[]> {
  if (!cids.length) return [];
  const k = deps.keys;
  const p = deps.redis.pipeline();
  p.hmget(k.connectionsIps, ...cids);
  p.hmget(k.authentications, ...cids);
  p.hmget(k.authorizations, ...cids);
  p.hmget(k.connectionsAuthenticators, ...cids);
  p.hmget(k.requests, ...cids);
  p.hmget(k.incomingTraffic, ...cids);
  p.hmget(k.outgoingTraffic, ...cids);
  p.hmget(k.connectionsStarts, ...cids);
  const replies = (await p.exec()) ?? [];
  const cols = replies.map(([err, v]) => {
    if (err) throw new Error(`Cannot read connections: ${err.message}`);
    return v as (string | null)[];
  });
  const now = Math.floor(Date.now() / 1000);
  return cids.map((id, i) => {
    const start = cols[7]![i];
    const startedAt = start ? num(start) : null;
    return {
      id,
      node: nodeOf(id),
      ip: cols[0]![i] ?? null,
      pubkey: cols[1]![i] ?? null,
      level: num(cols[2]![i]),
      authEventId: cols[3]![i] ?? null,
      subscriptions: [],
      requests: num(cols[4]![i]),
      bytesIn: num(cols[5]![i]),
      bytesOut: num(cols[6]![i]),
      startedAt,
      ageSeconds: startedAt === null ? null : Math.max(0, now - startedAt),
    };
  });
}

async function readSubscriptionIds(deps: ServiceDeps, list: ConnectionInfo[]): Promise<void> {
  if (!list.length) return;
  const p = deps.redis.pipeline();
  for (const c of list) p.smembers(deps.keys.clientReqs(c.id));
  const replies = (await p.exec()) ?? [];
  list.forEach((c, i) => {
    const [err, sids] = replies[i] ?? [null, []];
    c.subscriptions = err ? [] : (sids as string[]).sort();
  });
}

/**
 * Live connections, newest first: `total` and the page `offset`..`offset + limit` (default 200,
 * at most 1000). The list is Redis state, not a table, so an offset is cheap here.
 */
export async function listConnections(
  deps: ServiceDeps,
  options: { limit?: number; offset?: number } = {},
): Promise<{ total: number; connections: ConnectionInfo[] }> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 200), 1), 1000);
  const offset = Math.max(Math.trunc(options.offset ?? 0), 0);
  const cids = await deps.redis.smembers(deps.keys.connections);
  const starts = cids.length ? await deps.redis.hmget(deps.keys.connectionsStarts, ...cids) : [];
  const order = cids.map((cid, i) => [cid, num(starts[i])] as const)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(offset, offset + limit)
    .map(([cid]) => cid);
  const connections = await readConnections(deps, order);
  await readSubscriptionIds(deps, connections);
  return { total: cids.length, connections };
}

/** One live connection with its subscriptions' filters, or null when it is not live. */
export async function getConnection(
  deps: ServiceDeps,
  cid: string,
): Promise<ConnectionDetail | null> {
  checkCid(cid, "read connection");
  if (!(await deps.redis.sismember(deps.keys.connections, cid))) return null;
  const [info] = await readConnections(deps, [cid]);
  await readSubscriptionIds(deps, [info!]);
  const filters: Record<string, unknown[]> = {};
  const sids = info!.subscriptions;
  if (sids.length) {
    const raw = await deps.redis.hmget(deps.keys.subscriptions, ...sids.map((s) => `${cid}:${s}`));
    sids.forEach((sid, i) => {
      try {
        filters[sid] = raw[i] ? JSON.parse(raw[i]!) as unknown[] : [];
      } catch {
        filters[sid] = [];
      }
    });
  }
  return { ...info!, filters };
}

/** Totals over every web process. */
export async function connectionCounts(deps: ServiceDeps): Promise<ConnectionCounts> {
  const k = deps.keys;
  const replies = (await deps.redis.pipeline()
    .scard(k.connections)
    .hlen(k.authentications)
    .hlen(k.subscriptions)
    .hlen(k.nodes)
    .exec()) ?? [];
  const [connections, authenticated, subscriptions, nodes] = replies.map(([err, v]) => {
    if (err) throw new Error(`Cannot count connections: ${err.message}`);
    return Number(v);
  });
  return {
    connections: connections!,
    authenticated: authenticated!,
    subscriptions: subscriptions!,
    nodes: nodes!,
  };
}

/** How a close request ended. */
export interface CloseResult {
  /** A web process received the close command (it closes the socket with ADMIN_CLOSE). */
  delivered: boolean;
  /** Nobody received it: the connection's Redis state was removed here. */
  cleaned: boolean;
}

/**
 * Closes connection `cid` with `close` (default ADMIN_CLOSE, code 3502). When no web process is
 * subscribed to its channel (PUBLISH reached nobody), removes its Redis state directly.
 */
export async function closeConnection(
  deps: ServiceDeps,
  cid: string,
  close: { code: number; reason: string } = ADMIN_CLOSE,
): Promise<CloseResult> {
  checkCid(cid, "close connection");
  const message = encodeReply({ op: "close", code: close.code, reason: close.reason });
  const receivers = await deps.redis.publish(deps.keys.connectionChannel(cid), message);
  if (receivers > 0) return { delivered: true, cleaned: false };
  await removeConnectionState(deps, cid);
  return { delivered: false, cleaned: true };
}

/** Removes every Redis trace of connection `cid` (what its web process would on close). */
export async function removeConnectionState(deps: ServiceDeps, cid: string): Promise<void> {
  checkCid(cid, "remove connection");
  const k = deps.keys;
  const [sids, pubkey] = await Promise.all([
    deps.redis.smembers(k.clientReqs(cid)),
    deps.redis.hget(k.authentications, cid),
  ]);
  const p = deps.redis.multi();
  p.srem(k.connections, cid);
  for (const hash of connectionHashes(k)) p.hdel(hash, cid);
  if (sids.length) p.hdel(k.subscriptions, ...sids.map((s) => `${cid}:${s}`));
  p.del(k.clientReqs(cid));
  if (pubkey) p.srem(k.pubkeyConnections(pubkey), cid);
  const results = (await p.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw new Error(`Cannot remove connection ${cid}: ${failed[0]!.message}`);
}
