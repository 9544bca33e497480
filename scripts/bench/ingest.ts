/**
 * Ingest scenario: first an unloaded OK latency (one connection, one event in flight), then
 * throughput with several publisher connections, each with its own pinned authors and many
 * events in flight. Every event is signed and serialized before the clock starts.
 *
 * @module
 */
import { type BenchContext, type KnownEvent, knownOf } from "./context.ts";
import { prepare, type PreparedEvent, type SignedEvent } from "./corpus.ts";
import { kindSummaries, publish, publishReport } from "./publisher.ts";
import { closeAll, RelaySocket } from "./relay_socket.ts";

/** The signed workload of the ingest scenario. */
export interface IngestPlan {
  unloaded: PreparedEvent[];
  /** One list per publisher connection. */
  loaded: PreparedEvent[][];
  known: Map<string, KnownEvent>;
  authorsPerConnection: number;
}

/** Signs the ingest workload: whole author blocks, authors pinned to one connection each. */
export function planIngest(ctx: BenchContext): IngestPlan {
  const { corpus, opts } = ctx;
  const known = new Map<string, KnownEvent>();
  const keep = (evs: SignedEvent[]) => {
    for (const ev of evs) known.set(ev.id, knownOf(ev));
    return evs;
  };
  const unloaded: SignedEvent[] = [];
  while (unloaded.length < opts.unloaded) {
    unloaded.push(...keep(corpus.authorBlock(corpus.newAuthor())));
  }
  unloaded.length = opts.unloaded;
  const sizes = Array.from(
    { length: opts.conns },
    (_, i) => Math.floor(opts.events / opts.conns) + (i < opts.events % opts.conns ? 1 : 0),
  );
  const authorsPerConnection = Math.ceil((sizes[0] ?? 0) / 20);
  const loaded: SignedEvent[][] = sizes.map(() => []);
  // Round-robin over connections so that early notes (reply targets) come from every lane.
  for (let a = 0; a < authorsPerConnection; a++) {
    loaded.forEach((lane, i) => {
      if (lane.length < (sizes[i] ?? 0)) lane.push(...keep(corpus.authorBlock(corpus.newAuthor())));
    });
  }
  loaded.forEach((lane, i) => lane.length = Math.min(lane.length, sizes[i] ?? 0));
  return {
    unloaded: prepare(unloaded),
    loaded: loaded.map(prepare),
    known,
    authorsPerConnection,
  };
}

function sourceOf(events: PreparedEvent[]): () => PreparedEvent | undefined {
  let i = 0;
  return () => events[i++];
}

/** Runs both ingest phases; adds the accepted events to `ctx.known`. */
export async function runIngest(
  ctx: BenchContext,
  plan: IngestPlan,
): Promise<Record<string, unknown>> {
  const { opts, log } = ctx;
  const out: Record<string, unknown> = {};
  const remember = (ids: string[]) => {
    for (const id of ids) {
      const k = plan.known.get(id);
      if (k) ctx.known.push(k);
    }
  };

  if (plan.unloaded.length > 0) {
    log(`ingest: unloaded, ${plan.unloaded.length} events one at a time`);
    const socket = await RelaySocket.connect(opts.url, 10_000);
    const r = await publish([socket], [sourceOf(plan.unloaded)], {
      inFlight: 1,
      deadline: performance.now() + opts.timeout * 1000,
    });
    await socket.close();
    if (r.timedOut) ctx.timeouts.push(`ingest.unloaded: ${r.unanswered} events unanswered`);
    remember(r.accepted);
    out.unloaded = { connections: 1, in_flight: 1, ...publishReport(r) };
    log(`ingest: unloaded OK p50 ${r.latency.summary().p50} ms`);
  }

  const total = plan.loaded.reduce((s, l) => s + l.length, 0);
  log(`ingest: ${total} events over ${opts.conns} connections x ${opts.inFlight} in flight`);
  const sockets = await Promise.all(
    plan.loaded.map(() => RelaySocket.connect(opts.url, 10_000)),
  );
  const stopWatch = await ctx.procs.start();
  const r = await publish(sockets, plan.loaded.map(sourceOf), {
    inFlight: opts.inFlight,
    deadline: performance.now() + opts.timeout * 1000,
  });
  const procs = await stopWatch();
  await closeAll(sockets);
  if (r.timedOut) ctx.timeouts.push(`ingest.loaded: ${r.unanswered} events unanswered`);
  remember(r.accepted);
  const report = publishReport(r);
  out.loaded = {
    connections: opts.conns,
    in_flight: opts.inFlight,
    authors_per_connection: plan.authorsPerConnection,
    ...report,
    ok_latency_by_kind_ms: kindSummaries(r),
    procs,
  };
  log(`ingest: ${report.events_per_s} events/s, OK p50 ${r.latency.summary().p50} ms`);
  return out;
}
