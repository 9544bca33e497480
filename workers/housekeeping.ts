/**
 * Periodic jobs of the housekeeping queue: PurgeExpired (NIP-40 events past their expiration,
 * deleted in batches), SweepConnections (Redis state of connections whose web process stopped
 * sending heartbeats, including their place in the `pubkeyConnections` set of their pubkey) and
 * SampleConnections (the connection count, once a minute, for the admin overview chart).
 *
 * @module
 */
import { connectionHashes, JOBS, nodeOf, STATS_CONNECTIONS_MAX } from "../lib/contract.ts";
import { type JobLike, type ProcessorDeps, unixNow } from "./deps.ts";

/** Events deleted per statement by PurgeExpired. */
export const PURGE_BATCH = 1000;
/** Connections cleaned per Redis pipeline by SweepConnections. */
export const SWEEP_BATCH = 500;

/** Deletes every event whose expiration has passed; returns how many. */
export async function purgeExpired(
  deps: Pick<ProcessorDeps, "sql" | "log" | "now">,
): Promise<number> {
  const now = unixNow(deps);
  let total = 0;
  for (;;) {
    const { count } = await deps.sql`delete from events where id in (
      select id from events where expires_at <= ${now} limit ${PURGE_BATCH})`;
    total += count;
    if (count < PURGE_BATCH) break;
  }
  if (total) deps.log.info("purged expired events", { count: total });
  return total;
}

/** Deletes `field` from hash `key` only if it still holds `value` (a fresh heartbeat survives). */
const HDEL_IF_EQUAL = `if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('hdel', KEYS[1], ARGV[1]) end return 0`;

/** What a sweep removed. */
export interface SweepResult {
  connections: number;
  nodes: number;
}

/**
 * Removes the Redis state of every connection whose web node's heartbeat is missing or stale,
 * and the stale heartbeats themselves. `nowMs` defaults to the system clock.
 */
export async function sweepConnections(
  deps: Pick<ProcessorDeps, "redis" | "keys" | "config" | "log">,
  nowMs = Date.now(),
): Promise<SweepResult> {
  const { redis, keys, config } = deps;
  // dead: heartbeat older than NODE_SILENCE_SECONDS, or 3 sweep intervals if longer
  const silence = Math.max(config.nodeSilenceSeconds, 3 * config.connectionSweepSeconds) * 1000;
  const [heartbeats, cids] = await Promise.all([
    redis.hgetall(keys.nodes),
    redis.smembers(keys.connections),
  ]);
  const alive = new Set<string>();
  const stale: [string, string][] = [];
  for (const [node, beat] of Object.entries(heartbeats)) {
    if (nowMs - Number(beat) <= silence) alive.add(node);
    else stale.push([node, beat]);
  }
  const dead = cids.filter((cid) => !alive.has(nodeOf(cid)));
  for (let i = 0; i < dead.length; i += SWEEP_BATCH) {
    await removeConnections(deps, dead.slice(i, i + SWEEP_BATCH));
  }
  if (stale.length) {
    const p = redis.pipeline();
    for (const [node, beat] of stale) p.eval(HDEL_IF_EQUAL, 1, keys.nodes, node, beat);
    await p.exec();
  }
  if (dead.length || stale.length) {
    deps.log.info("swept connections of silent web nodes", {
      connections: dead.length,
      nodes: stale.map(([node]) => node),
    });
  }
  return { connections: dead.length, nodes: stale.length };
}

/**
 * Removes every Redis trace of connections `cids` (two pipelines), including their membership
 * of `pubkeyConnections` for the pubkey `authentications` holds for them.
 */
async function removeConnections(deps: Pick<ProcessorDeps, "redis" | "keys">, cids: string[]) {
  const { redis, keys } = deps;
  const read = redis.pipeline();
  for (const cid of cids) read.smembers(keys.clientReqs(cid));
  read.hmget(keys.authentications, ...cids);
  const replies = (await read.exec()) ?? [];
  const sids = replies.slice(0, cids.length);
  const [authErr, pubkeys] = replies[cids.length] ?? [new Error("no reply"), []];
  if (authErr) throw new Error(`Cannot sweep connections: ${authErr.message}`);
  const write = redis.pipeline();
  write.srem(keys.connections, ...cids);
  for (const hash of connectionHashes(keys)) write.hdel(hash, ...cids);
  cids.forEach((cid, i) => {
    const [err, members] = sids[i] ?? [null, []];
    const fields = err ? [] : (members as string[]).map((sid) => `${cid}:${sid}`);
    if (fields.length) write.hdel(keys.subscriptions, ...fields);
    write.del(keys.clientReqs(cid));
    const pubkey = (pubkeys as (string | null)[])[i];
    if (pubkey) write.srem(keys.pubkeyConnections(pubkey), cid);
  });
  const results = (await write.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw new Error(`Cannot sweep connections: ${failed[0]!.message}`);
}

/**
 * Prepends `<unix s>:<SCARD connections>` to `statsConnections`, keeping the newest
 * STATS_CONNECTIONS_MAX samples (7 days of one a minute); returns the count sampled.
 */
export async function sampleConnections(
  deps: Pick<ProcessorDeps, "redis" | "keys" | "now">,
): Promise<number> {
  const { redis, keys } = deps;
  const count = await redis.scard(keys.connections);
  const results = (await redis.multi()
    .lpush(keys.statsConnections, `${unixNow(deps)}:${count}`)
    .ltrim(keys.statsConnections, 0, STATS_CONNECTIONS_MAX - 1)
    .exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw new Error(`Cannot sample connections: ${failed[0]!.message}`);
  return count;
}

/** The housekeeping queue's processor: dispatches on the job name. */
export async function housekeeping(job: JobLike<unknown>, deps: ProcessorDeps): Promise<unknown> {
  if (job.name === JOBS.purgeExpired) return await purgeExpired(deps);
  if (job.name === JOBS.sweepConnections) return await sweepConnections(deps);
  if (job.name === JOBS.sampleConnections) return await sampleConnections(deps);
  throw new Error(`Cannot run housekeeping job: unknown name "${job.name}"`);
}
