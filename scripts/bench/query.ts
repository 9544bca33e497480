/**
 * Query scenario: makes sure the relay holds at least `--seed` events (publishing the missing ones
 * through the relay itself), draws filter values from the events it knows are stored, then runs
 * a closed loop of REQs, one in flight per connection, over several filter shapes, timing
 * REQ → EOSE.
 *
 * @module
 */
import { type BenchContext, type KnownEvent, knownOf, sleep } from "./context.ts";
import { prepare, type PreparedEvent, type SignedEvent } from "./corpus.ts";
import { publish, publishReport } from "./publisher.ts";
import { closeAll, RelaySocket } from "./relay_socket.ts";
import { reasonKey, round2, Samples, Tally } from "./stats.ts";
import { sampleStored } from "./query_sample.ts";

/** Values filters are drawn from; repeats weight popular values. */
export interface QueryPools {
  ids: string[];
  authors: string[];
  e: string[];
  p: string[];
  t: string[];
  minTs: number;
  maxTs: number;
}

type Filter = Record<string, unknown>;

/** A filter shape: a name and a function drawing one filter from the pools (null = no data). */
interface Shape {
  name: string;
  make(p: QueryPools): Filter | null;
}

function pick<T>(xs: readonly T[]): T | undefined {
  return xs[Math.floor(Math.random() * xs.length)];
}

const WINDOW_SECONDS = 900;

/** The filter shapes of the query mix, issued round-robin. */
export const SHAPES: Shape[] = [
  {
    name: "ids",
    make: (p) => {
      if (p.ids.length === 0) return null;
      const ids = new Set<string>();
      while (ids.size < Math.min(10, p.ids.length)) ids.add(pick(p.ids) as string);
      return { ids: [...ids] };
    },
  },
  {
    name: "authors_kinds",
    make: (p) => p.authors.length ? { authors: [pick(p.authors)], kinds: [1, 7], limit: 50 } : null,
  },
  { name: "kinds_limit", make: () => ({ kinds: [pick([[1], [7], [1, 7]])].flat(), limit: 100 }) },
  { name: "tag_e", make: (p) => p.e.length ? { "#e": [pick(p.e)], limit: 50 } : null },
  { name: "tag_p", make: (p) => p.p.length ? { "#p": [pick(p.p)], limit: 50 } : null },
  {
    name: "tag_t_kinds",
    make: (p) => p.t.length ? { "#t": [pick(p.t)], kinds: [30023], limit: 20 } : null,
  },
  {
    name: "time_window",
    make: (p) => {
      if (!(p.maxTs > p.minTs)) return null;
      const since = p.minTs +
        Math.floor(Math.random() * Math.max(1, p.maxTs - p.minTs - WINDOW_SECONDS));
      return { since, until: since + WINDOW_SECONDS, limit: 100 };
    },
  },
];

/** Builds the pools from events known to be stored. */
export function poolsOf(known: KnownEvent[]): QueryPools {
  const pools: QueryPools = {
    ids: [],
    authors: [],
    e: [],
    p: [],
    t: [],
    minTs: Infinity,
    maxTs: 0,
  };
  const authors = new Set<string>();
  for (const k of known) {
    pools.ids.push(k.id);
    if (k.kind === 1 || k.kind === 7) authors.add(k.pubkey);
    pools.e.push(...k.e.filter((v) => /^[0-9a-f]{64}$/.test(v)));
    pools.p.push(...k.p.filter((v) => /^[0-9a-f]{64}$/.test(v)));
    if (k.kind === 30023) pools.t.push(...k.t);
    pools.minTs = Math.min(pools.minTs, k.created_at);
    pools.maxTs = Math.max(pools.maxTs, k.created_at);
  }
  pools.authors = [...authors];
  return pools;
}

async function seed(ctx: BenchContext, need: number): Promise<Record<string, unknown>> {
  const { opts, corpus, log } = ctx;
  const signBefore = corpus.signMs;
  const sent = new Map<string, KnownEvent>();
  let generated = 0;
  // Each connection signs a new author's block whenever its queue runs dry (seeding is not timed).
  const sources = Array.from({ length: opts.conns }, () => {
    const author = corpus.newAuthor();
    let queue: PreparedEvent[] = [];
    let blocks = 0;
    return (): PreparedEvent | undefined => {
      if (queue.length === 0) {
        if (generated >= need) return undefined;
        const evs: SignedEvent[] = corpus.authorBlock(blocks++ === 0 ? author : corpus.newAuthor());
        evs.length = Math.min(evs.length, need - generated);
        generated += evs.length;
        for (const ev of evs) sent.set(ev.id, knownOf(ev));
        queue = prepare(evs);
      }
      return queue.shift();
    };
  });
  log(`query: seeding ${need} events through the relay`);
  const sockets = await Promise.all(sources.map(() => RelaySocket.connect(opts.url, 10_000)));
  let lastLog = performance.now();
  const progressTimer = setInterval(() => {
    if (performance.now() - lastLog < 10_000) return;
    lastLog = performance.now();
    log(`query: seeding, ${generated}/${need} signed and sent`);
  }, 1000);
  const r = await publish(sockets, sources, {
    inFlight: opts.inFlight,
    deadline: performance.now() + opts.timeout * 3000,
  });
  clearInterval(progressTimer);
  await closeAll(sockets);
  if (r.timedOut) ctx.timeouts.push(`query.seed: ${r.unanswered} events unanswered`);
  for (const id of r.accepted) {
    const k = sent.get(id);
    if (k) ctx.known.push(k);
  }
  const rep = publishReport(r);
  log(`query: seeded ${r.okTrue} events (${rep.events_per_s} events/s)`);
  return { ...rep, sign_ms: round2(corpus.signMs - signBefore) };
}

interface ShapeStats {
  latency: Samples;
  events: number;
  closed: Tally;
  timeouts: number;
  idsMissing: number;
}

/** Seeds (or samples) and runs the query mix. */
export async function runQuery(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { opts, log } = ctx;
  const out: Record<string, unknown> = {};
  if (opts.noSeed) {
    log("query: --no-seed, sampling stored events");
    const sampled = await sampleStored(opts.url, opts.timeout * 1000);
    ctx.known.push(...sampled);
    out.seed = { skipped: true, sampled_events: sampled.length };
  } else {
    const reused = ctx.known.length;
    const need = Math.max(0, opts.seed - reused);
    out.seed = {
      target: opts.seed,
      reused_from_ingest: reused,
      ...(need > 0 ? await seed(ctx, need) : {}),
    };
    await sleep(1000);
  }
  const pools = poolsOf(ctx.known);
  const shapes = SHAPES.filter((s) => s.make(pools) !== null);
  const skipped = SHAPES.filter((s) => !shapes.includes(s)).map((s) => s.name);
  if (shapes.length === 0) throw new Error("Cannot query: no stored events known");

  const stats = new Map<string, ShapeStats>(
    shapes.map((s) => [s.name, {
      latency: new Samples(),
      events: 0,
      closed: new Tally(),
      timeouts: 0,
      idsMissing: 0,
    }]),
  );
  const all = new Samples();
  log(`query: ${opts.queryConns} connections, ${shapes.length} shapes, ${opts.duration} s`);
  const sockets = await Promise.all(
    Array.from({ length: opts.queryConns }, () => RelaySocket.connect(opts.url, 10_000)),
  );
  const stopWatch = await ctx.procs.start();
  const started = performance.now();
  const end = started + opts.duration * 1000;
  let issued = 0;
  let lastDone = started;

  async function lane(socket: RelaySocket, c: number): Promise<void> {
    let n = 0;
    while (performance.now() < end && issued < opts.queries && socket.isOpen) {
      const shape = shapes[issued++ % shapes.length] as Shape;
      const filter = shape.make(pools) as Filter;
      const st = stats.get(shape.name) as ShapeStats;
      const subId = `q${c}-${n++}`;
      let events = 0;
      const t0 = performance.now();
      const outcome = await new Promise<"eose" | "closed" | "timeout">((resolve) => {
        const timer = setTimeout(() => resolve("timeout"), opts.timeout * 1000);
        socket.handlers = {
          event(sid) {
            if (sid === subId) events++;
          },
          eose(sid, now) {
            if (sid !== subId) return;
            clearTimeout(timer);
            st.latency.push(now - t0);
            all.push(now - t0);
            lastDone = now;
            resolve("eose");
          },
          closed(sid, message) {
            if (sid !== subId) return;
            clearTimeout(timer);
            st.closed.add(reasonKey(message));
            resolve("closed");
          },
        };
        if (!socket.send(JSON.stringify(["REQ", subId, filter]))) {
          clearTimeout(timer);
          st.closed.add("connection closed");
          resolve("closed");
        }
      });
      st.events += events;
      if (outcome === "timeout") st.timeouts++;
      if (outcome !== "closed") socket.send(JSON.stringify(["CLOSE", subId]));
      if (outcome === "eose" && shape.name === "ids") {
        st.idsMissing += Math.max(0, (filter.ids as string[]).length - events);
      }
    }
  }
  await Promise.all(sockets.map(lane));
  const procs = await stopWatch();
  await closeAll(sockets);
  const elapsed = (lastDone - started) / 1000;
  const byShape: Record<string, unknown> = {};
  for (const [name, st] of stats) {
    byShape[name] = {
      eose_ms: st.latency.summary(),
      events_per_query: st.latency.length ? round2(st.events / st.latency.length) : null,
      closed: st.closed.toJSON(),
      timeouts: st.timeouts,
      ...(name === "ids" ? { ids_missing: st.idsMissing } : {}),
    };
  }
  const timeouts = [...stats.values()].reduce((s, st) => s + st.timeouts, 0);
  if (timeouts > 0) ctx.timeouts.push(`query: ${timeouts} REQs without EOSE`);
  const summary = all.summary();
  const qps = elapsed > 0 ? round2(all.length / elapsed) : null;
  log(`query: ${qps} queries/s, EOSE p50 ${summary.p50} ms, p99 ${summary.p99} ms`);
  return {
    ...out,
    known_events: ctx.known.length,
    connections: opts.queryConns,
    in_flight_per_connection: 1,
    duration_s: round2(elapsed),
    queries: all.length,
    queries_per_s: qps,
    eose_ms: summary,
    shapes: byShape,
    shapes_skipped_for_lack_of_data: skipped,
    procs,
  };
}
