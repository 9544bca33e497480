/**
 * Figures for the admin Overview: events stored per kind, events per hour, connections over
 * time (the SampleConnections job's samples in `stats:connections`) and relay health (Redis,
 * PostgreSQL, workers and web processes seen).
 *
 * Written by the admin UI while services/ had no stats module; the service layer's owner may fold
 * it into a stats.ts of their own.
 *
 * @module
 */
import { QUEUES } from "../lib/contract.ts";
import { errorText } from "../lib/log.ts";
import { type QueueKey, type ServiceDeps, withQueue } from "./deps.ts";

/** A time series point: unix seconds and a value. */
export interface StatPoint {
  t: number;
  v: number;
}

/** Events stored per kind. */
export interface KindCounts {
  /** The most common kinds, most first. */
  kinds: { kind: number; count: number }[];
  /** Events of the other kinds. */
  other: number;
  total: number;
}

/** Statement timeout of the overview's counting queries. */
const COUNT_TIMEOUT = "5s";

/** Events stored per kind: the `top` most common kinds and the rest. */
export async function eventsPerKind(
  deps: ServiceDeps,
  options: { top?: number } = {},
): Promise<KindCounts> {
  const top = Math.min(Math.max(options.top ?? 10, 1), 50);
  const rows = await deps.sql.begin(async (tx) => {
    await tx`select set_config('statement_timeout', ${COUNT_TIMEOUT}, true)`;
    return await tx<{ kind: number; count: number }[]>`
      select kind, count(*)::float8 as count from events group by kind order by 2 desc, 1`;
  });
  const total = rows.reduce((n, r) => n + r.count, 0);
  const kinds = rows.slice(0, top);
  return { kinds, other: total - kinds.reduce((n, r) => n + r.count, 0), total };
}

/** Events per hour by created_at over the last `hours` (default 48), oldest first, zeros kept. */
export async function eventsPerHour(
  deps: ServiceDeps,
  options: { hours?: number; now?: number } = {},
): Promise<StatPoint[]> {
  const hours = Math.min(Math.max(Math.trunc(options.hours ?? 48), 1), 24 * 31);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const last = Math.floor(now / 3600) * 3600;
  const first = last - (hours - 1) * 3600;
  const rows = await deps.sql.begin(async (tx) => {
    await tx`select set_config('statement_timeout', ${COUNT_TIMEOUT}, true)`;
    return await tx<{ bucket: number; count: number }[]>`
      select (created_at / 3600) * 3600 as bucket, count(*)::int as count
      from events where created_at >= ${first} and created_at < ${last + 3600}
      group by 1`;
  });
  const by = new Map(rows.map((r) => [Number(r.bucket), r.count]));
  const out: StatPoint[] = [];
  for (let t = first; t <= last; t += 3600) out.push({ t, v: by.get(t) ?? 0 });
  return out;
}

/**
 * Open connections over the last `minutes` (default 24 h), oldest first, from the samples the
 * workers take every minute; averaged into at most `points` (default 288) points.
 */
export async function connectionsOverTime(
  deps: ServiceDeps,
  options: { minutes?: number; points?: number } = {},
): Promise<StatPoint[]> {
  const minutes = Math.min(Math.max(Math.trunc(options.minutes ?? 24 * 60), 1), 7 * 24 * 60);
  const raw = await deps.redis.lrange(deps.keys.statsConnections, 0, minutes - 1);
  const samples: StatPoint[] = [];
  for (const s of raw) {
    const [t, v] = s.split(":").map(Number);
    if (Number.isFinite(t) && Number.isFinite(v)) samples.push({ t: t!, v: v! });
  }
  samples.sort((a, b) => a.t - b.t);
  const max = Math.max(2, options.points ?? 288);
  if (samples.length <= max) return samples;
  const per = Math.ceil(samples.length / max);
  const out: StatPoint[] = [];
  for (let i = 0; i < samples.length; i += per) {
    const chunk = samples.slice(i, i + per);
    out.push({
      t: chunk[chunk.length - 1]!.t,
      v: Math.round(chunk.reduce((n, p) => n + p.v, 0) / chunk.length * 10) / 10,
    });
  }
  return out;
}

/** One dependency's state. */
export interface Probe {
  ok: boolean;
  /** Round trip in ms. */
  ms: number;
  detail: string;
}

/** What the overview shows about the relay's parts. */
export interface RelayHealth {
  redis: Probe;
  postgres: Probe;
  /** BullMQ workers connected per queue. */
  workers: { queue: string; count: number }[];
  /** Web processes by heartbeat, newest first. */
  webNodes: { id: string; lastSeenMs: number }[];
}

async function probe(fn: () => Promise<string>): Promise<Probe> {
  const start = performance.now();
  try {
    const detail = await fn();
    return { ok: true, ms: Math.round(performance.now() - start), detail };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - start), detail: errorText(err) };
  }
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Probes Redis and PostgreSQL and lists the workers and web processes seen. */
export async function relayHealth(deps: ServiceDeps): Promise<RelayHealth> {
  const [redis, postgres] = await Promise.all([
    probe(async () => {
      const info = await bounded(deps.redis.info("server"), 2000, "Redis");
      return /redis_version:(\S+)/.exec(info)?.[1]
        ? `Redis ${/redis_version:(\S+)/.exec(info)![1]}`
        : "up";
    }),
    probe(async () => {
      const [row] = await bounded(
        deps.sql<{ v: string }[]>`select current_setting('server_version') as v`,
        2000,
        "PostgreSQL",
      );
      return `PostgreSQL ${row?.v ?? ""}`.trim();
    }),
  ]);
  const keys = Object.keys(QUEUES) as QueueKey[];
  const workers = redis.ok
    ? await Promise.all(keys.map((key) =>
      withQueue(deps, key, async function countWorkers(queue) {
        const count = await bounded(queue.getWorkersCount(), 2000, "BullMQ").catch(() => -1);
        return { queue: QUEUES[key], count };
      })
    ))
    : [];
  const nodes = redis.ok ? await deps.redis.hgetall(deps.keys.nodes).catch(() => ({})) : {};
  const now = Date.now();
  const webNodes = Object.entries(nodes as Record<string, string>)
    .map(([id, beat]) => ({ id, lastSeenMs: Math.max(0, now - Number(beat)) }))
    .sort((a, b) => a.lastSeenMs - b.lastSeenMs);
  return { redis, postgres, workers, webNodes };
}
