/**
 * Figures for the admin overview: events stored per kind, events per hour over the last 48
 * hours, connections over time (the samples the worker's SampleConnections job writes every
 * minute), and health (Redis, PostgreSQL, workers seen per queue, live web processes).
 *
 * @module
 */
import { QUEUES } from "../lib/contract.ts";
import { errorText } from "../lib/log.ts";
import { type QueueKey, type ServiceDeps, withQueue } from "./deps.ts";

/** Above this many events (planner estimate), per-kind counts come from statistics. */
export const EXACT_COUNT_LIMIT = 1_000_000;

/** Events of one kind. */
export interface KindCount {
  kind: number;
  count: number;
}

/**
 * The `top` kinds (default 10) with the most stored events, and the total. Exact below
 * `exactLimit` (default EXACT_COUNT_LIMIT) events; beyond, estimated from PostgreSQL's
 * statistics (`approximate`: the table's row estimate times each kind's frequency).
 */
export async function eventsPerKind(
  deps: ServiceDeps,
  options: { top?: number; exactLimit?: number } = {},
): Promise<{ kinds: KindCount[]; total: number; approximate: boolean }> {
  const top = Math.min(Math.max(Math.trunc(options.top ?? 10), 1), 100);
  const { sql } = deps;
  const [est] = await sql<{ n: number }[]>`
    select greatest(reltuples, 0)::bigint as n from pg_class where oid = 'events'::regclass`;
  const estimate = est?.n ?? 0;
  if (estimate < (options.exactLimit ?? EXACT_COUNT_LIMIT)) {
    const rows = await sql<{ kind: number; count: number }[]>`
      select kind, count(*)::bigint as count from events group by kind
      order by count desc, kind limit ${top}`;
    const [total] = await sql<{ n: number }[]>`select count(*)::bigint as n from events`;
    return {
      kinds: rows.map((r) => ({ kind: r.kind, count: r.count })),
      total: total!.n,
      approximate: false,
    };
  }
  const [stats] = await sql<{ vals: string | null; freqs: number[] | null }[]>`
    select most_common_vals::text as vals, most_common_freqs as freqs
    from pg_stats where schemaname = current_schema() and tablename = 'events'
      and attname = 'kind'`;
  const vals = (stats?.vals ?? "{}").replace(/[{}]/g, "").split(",").filter(Boolean).map(Number);
  const kinds = vals.map((kind, i) => ({
    kind,
    count: Math.round((stats?.freqs?.[i] ?? 0) * estimate),
  })).sort((a, b) => b.count - a.count || a.kind - b.kind).slice(0, top);
  return { kinds, total: estimate, approximate: true };
}

/** Events created in one hour. */
export interface HourCount {
  /** Start of the hour, unix seconds. */
  hour: number;
  count: number;
}

/**
 * Stored events per hour of `created_at` over the last `hours` (default 48, at most 336), oldest
 * first, every hour present (0 when none); one range scan of the created_at index.
 */
export async function eventsPerHour(
  deps: ServiceDeps,
  options: { hours?: number; now?: number } = {},
): Promise<HourCount[]> {
  const hours = Math.min(Math.max(Math.trunc(options.hours ?? 48), 1), 336);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const last = Math.floor(now / 3600) * 3600;
  const first = last - (hours - 1) * 3600;
  const rows = await deps.sql<{ hour: number; count: number }[]>`
    select (created_at / 3600) * 3600 as hour, count(*)::bigint as count
    from events where created_at >= ${first} and created_at <= ${now}
    group by 1`;
  const by = new Map(rows.map((r) => [Number(r.hour), r.count]));
  return Array.from({ length: hours }, (_, i) => {
    const hour = first + i * 3600;
    return { hour, count: by.get(hour) ?? 0 };
  });
}

/** One connection sample. */
export interface ConnectionSample {
  /** Unix seconds. */
  at: number;
  connections: number;
}

/**
 * Connection samples (one a minute, written by the worker) of the last `minutes` (default
 * 1440 = a day, at most 7 days), oldest first.
 */
export async function connectionsOverTime(
  deps: ServiceDeps,
  options: { minutes?: number } = {},
): Promise<ConnectionSample[]> {
  const minutes = Math.min(Math.max(Math.trunc(options.minutes ?? 1440), 1), 7 * 24 * 60);
  const raw = await deps.redis.lrange(deps.keys.statsConnections, 0, minutes - 1);
  const out: ConnectionSample[] = [];
  for (const s of raw) {
    const [at, n] = s.split(":").map(Number);
    if (Number.isFinite(at) && Number.isFinite(n)) out.push({ at: at!, connections: n! });
  }
  return out.reverse();
}

/** A store's answer to a ping. */
export interface StoreHealth {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** The relay's health. */
export interface Health {
  redis: StoreHealth;
  postgres: StoreHealth;
  /** Workers connected to each queue (BullMQ `getWorkers()`); -1 when it could not be read. */
  workers: { key: QueueKey; name: string; workers: number }[];
  /** Web processes whose heartbeat is at most 30 s old. */
  webNodes: number;
  /** Every store answered, every queue has a worker and some web process is alive. */
  ok: boolean;
}

/** How long a health probe waits. */
export const HEALTH_TIMEOUT_MS = 2000;

async function probe(fn: () => Promise<unknown>): Promise<StoreHealth> {
  const start = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)),
          HEALTH_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, latencyMs: Math.round((performance.now() - start) * 10) / 10 };
  } catch (err) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - start),
      error: errorText(err),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Pings Redis and PostgreSQL, counts the workers of every queue and the live web nodes. */
export async function health(deps: ServiceDeps): Promise<Health> {
  const [redis, postgres] = await Promise.all([
    probe(() => deps.redis.ping()),
    probe(() => deps.sql`select 1`),
  ]);
  const keys = Object.keys(QUEUES) as QueueKey[];
  const workers = redis.ok
    ? await Promise.all(keys.map(async (key) => ({
      key,
      name: QUEUES[key],
      workers: await withQueue(deps, key, (q) => q.getWorkersCount()).catch(() => -1),
    })))
    : keys.map((key) => ({ key, name: QUEUES[key], workers: -1 }));
  let webNodes = 0;
  if (redis.ok) {
    const beats = await deps.redis.hgetall(deps.keys.nodes).catch(() => ({}));
    const now = Date.now();
    webNodes = Object.values(beats).filter((b) => now - Number(b) <= 30_000).length;
  }
  return {
    redis,
    postgres,
    workers,
    webNodes,
    ok: redis.ok && postgres.ok && workers.every((w) => w.workers > 0) && webNodes > 0,
  };
}
