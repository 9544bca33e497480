/**
 * Figures for the admin overview: events stored per kind, events per hour over the last 48
 * hours, connections over time (the samples the worker's SampleConnections job writes every
 * minute), and health (Redis, PostgreSQL, workers seen per queue, web processes).
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
  /** Estimated from PostgreSQL's statistics (large tables) rather than counted. */
  approximate: boolean;
}

/** Above this many events (planner estimate), per-kind counts come from statistics. */
export const EXACT_COUNT_LIMIT = 1_000_000;
/** Statement timeout of the counting queries. */
export const COUNT_TIMEOUT = "5s";

/**
 * The `top` kinds (default 10) with the most stored events, the rest and the total. Counted
 * below `exactLimit` (default EXACT_COUNT_LIMIT) events; beyond, estimated from PostgreSQL's
 * statistics (the table's row estimate times each common kind's frequency).
 */
export async function eventsPerKind(
  deps: ServiceDeps,
  options: { top?: number; exactLimit?: number } = {},
): Promise<KindCounts> {
  const top = Math.min(Math.max(Math.trunc(options.top ?? 10), 1), 100);
  const { sql } = deps;
  const [est] = await sql<{ n: number }[]>`
    select greatest(reltuples, 0)::float8 as n from pg_class where oid = 'events'::regclass`;
  const estimate = Math.round(est?.n ?? 0);
  let all: { kind: number; count: number }[];
  let total: number;
  let approximate = false;
  if (estimate < (options.exactLimit ?? EXACT_COUNT_LIMIT)) {
    all = await sql.begin(async (tx) => {
      await tx`select set_config('statement_timeout', ${COUNT_TIMEOUT}, true)`;
      return await tx<{ kind: number; count: number }[]>`
        select kind, count(*)::float8 as count from events group by kind order by 2 desc, 1`;
    });
    total = all.reduce((n, r) => n + r.count, 0);
  } else {
    const [stats] = await sql<{ vals: string | null; freqs: number[] | null }[]>`
      select most_common_vals::text as vals, most_common_freqs as freqs
      from pg_stats where schemaname = current_schema() and tablename = 'events'
        and attname = 'kind'`;
    const vals = (stats?.vals ?? "{}").replace(/[{}]/g, "").split(",").filter(Boolean);
    all = vals.map((kind, i) => ({
      kind: Number(kind),
      count: Math.round((stats?.freqs?.[i] ?? 0) * estimate),
    })).sort((a, b) => b.count - a.count || a.kind - b.kind);
    total = estimate;
    approximate = true;
  }
  const kinds = all.slice(0, top).map((r) => ({ kind: r.kind, count: r.count }));
  const other = Math.max(0, total - kinds.reduce((n, r) => n + r.count, 0));
  return { kinds, other, total, approximate };
}

/**
 * Stored events per hour of `created_at` over the last `hours` (default 48, at most 744), oldest
 * first, every hour present (0 when none); one range scan of the created_at index.
 */
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
 * Open connections over the last `minutes` (default 24 h, at most 7 days), oldest first, from
 * the samples the worker takes every minute; averaged into at most `points` (default 288).
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
  /** Version when up, the error when down. */
  detail: string;
}

/** The relay's health. */
export interface RelayHealth {
  redis: Probe;
  postgres: Probe;
  /** BullMQ workers connected per queue (`getWorkers()`); -1 when it could not be read. */
  workers: { key: QueueKey; queue: string; count: number }[];
  /** Web processes by heartbeat, newest first. */
  webNodes: { id: string; lastSeenMs: number }[];
  /** Both stores answer, every queue has a worker, a web process beat in the last 30 s. */
  ok: boolean;
}

/** How long a health probe waits. */
export const HEALTH_TIMEOUT_MS = 2000;

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} did not answer in ${HEALTH_TIMEOUT_MS} ms`)),
        HEALTH_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
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

/** Probes Redis and PostgreSQL, counts the workers of every queue, lists the web processes. */
export async function relayHealth(deps: ServiceDeps): Promise<RelayHealth> {
  const [redis, postgres] = await Promise.all([
    probe(async () => {
      const info = await bounded(deps.redis.info("server"), "Redis");
      const version = /redis_version:(\S+)/.exec(info)?.[1];
      return version ? `Redis ${version}` : "up";
    }),
    probe(async () => {
      const [row] = await bounded(
        deps.sql<{ v: string }[]>`select current_setting('server_version') as v`,
        "PostgreSQL",
      );
      return `PostgreSQL ${row?.v ?? ""}`.trim();
    }),
  ]);
  const keys = Object.keys(QUEUES) as QueueKey[];
  const workers = await Promise.all(keys.map(async (key) => ({
    key,
    queue: QUEUES[key],
    count: redis.ok
      ? await withQueue(deps, key, (q) => bounded(q.getWorkersCount(), "BullMQ")).catch(() => -1)
      : -1,
  })));
  const nodes = redis.ok ? await deps.redis.hgetall(deps.keys.nodes).catch(() => ({})) : {};
  const now = Date.now();
  const webNodes = Object.entries(nodes as Record<string, string>)
    .map(([id, beat]) => ({ id, lastSeenMs: Math.max(0, now - Number(beat)) }))
    .sort((a, b) => a.lastSeenMs - b.lastSeenMs);
  return {
    redis,
    postgres,
    workers,
    webNodes,
    ok: redis.ok && postgres.ok && workers.every((w) => w.count > 0) &&
      webNodes.some((n) => n.lastSeenMs <= 30_000),
  };
}
