/**
 * `deno task bench [ws://host:port] [flags]`: a load generator for a running relay. It starts
 * nothing but load, runs the ingest, query, fanout and connections scenarios in turn (each bounded
 * in count and time; the abuse scenario only when asked for with --only=abuse) and prints one
 * JSON document on stdout; progress goes to stderr. See docs/PERFORMANCE.md for the method and
 * `--help` for the flags.
 *
 * @module
 */
import { runAbuse } from "./bench/abuse.ts";
import { runConnections } from "./bench/connections.ts";
import { type BenchContext, createProgress, errorText } from "./bench/context.ts";
import { Corpus } from "./bench/corpus.ts";
import { type FanoutPlan, planFanout, runFanout } from "./bench/fanout.ts";
import { type IngestPlan, planIngest, runIngest } from "./bench/ingest.ts";
import { type BenchOptions, parseOptions, USAGE } from "./bench/options.ts";
import { ProcWatch } from "./bench/procs.ts";
import { runQuery } from "./bench/query.ts";
import { RelaySocket } from "./bench/relay_socket.ts";
import { round2 } from "./bench/stats.ts";

type Json = Record<string, unknown>;

function print(text: string, to: "stdout" | "stderr" = "stdout"): void {
  const bytes = new TextEncoder().encode(text.endsWith("\n") ? text : text + "\n");
  const out = to === "stdout" ? Deno.stdout : Deno.stderr;
  let written = 0;
  while (written < bytes.length) written += out.writeSync(bytes.subarray(written));
}

function loadavg(): number[] | null {
  try {
    return Deno.loadavg().map(round2);
  } catch {
    return null;
  }
}

function machine(): Json {
  return {
    cpus: navigator.hardwareConcurrency,
    loadavg_at_start: loadavg(),
    deno: Deno.version.deno,
    os: Deno.build.os,
  };
}

async function nip11(url: string): Promise<Json | null> {
  try {
    const res = await fetch(url.replace(/^ws/, "http"), {
      headers: { accept: "application/nostr+json" },
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    const doc = await res.json() as Json;
    const { name, software, version, supported_nips, limitation } = doc;
    return { name, software, version, supported_nips, limitation };
  } catch {
    return null;
  }
}

/** Upper bound of the whole run: the sum of every phase's bound, plus slack. */
function hardLimitMs(o: BenchOptions): number {
  const abuse = o.only.includes("abuse") ? o.timeout * 3 + o.duration * 3 + 30 : 0;
  return (o.timeout * 12 + o.duration * 2 + 60 + abuse) * 1000;
}

/** The headline figures, in the rows of the BRIEF's comparison table. */
function headline(s: Json): Json {
  const get = (path: string[]): unknown =>
    path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Json)[k] : undefined), s);
  return {
    ingest_events_per_s: get(["ingest", "loaded", "events_per_s"]) ?? null,
    ingest_ok_p50_ms: get(["ingest", "loaded", "ok_latency_ms", "p50"]) ?? null,
    unloaded_ok_p50_ms: get(["ingest", "unloaded", "ok_latency_ms", "p50"]) ?? null,
    queries_per_s: get(["query", "queries_per_s"]) ?? null,
    query_eose_p50_ms: get(["query", "eose_ms", "p50"]) ?? null,
    query_eose_p99_ms: get(["query", "eose_ms", "p99"]) ?? null,
    fanout_p50_ms: get(["fanout", "delivery_ms", "p50"]) ?? null,
    fanout_p99_ms: get(["fanout", "delivery_ms", "p99"]) ?? null,
    fanout_lost: get(["fanout", "lost"]) ?? null,
    fanout_duplicates: get(["fanout", "duplicates"]) ?? null,
    idle_connection_kb: get(["connections", "web_memory", "per_connection_kb_fit"]) ?? null,
    idle_connection_kb_delta: get(["connections", "web_memory", "per_connection_kb"]) ?? null,
  };
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    const parsed = parseOptions(Deno.args);
    if (parsed === "help") {
      print(USAGE);
      return 0;
    }
    opts = parsed;
  } catch (err) {
    print(`${errorText(err)}\n\n${USAGE}`, "stderr");
    return 2;
  }
  const started = performance.now();
  const log = createProgress(opts.quiet);
  const report: Json = {
    bench: "nostr relay load generator",
    relay: opts.url,
    started_at: new Date().toISOString(),
  };
  const scenarios: Json = {};
  const ctx: BenchContext = {
    opts,
    corpus: new Corpus(),
    procs: new ProcWatch(opts.watch),
    log,
    timeouts: [],
    known: [],
  };
  const finish = (extra: Json = {}) => {
    Object.assign(report, {
      summary: headline(scenarios),
      scenarios,
      timeouts: ctx.timeouts,
      loadavg_at_end: loadavg(),
      duration_s: round2((performance.now() - started) / 1000),
      ...extra,
    });
    print(JSON.stringify(report, null, 2));
  };
  const watchdog = setTimeout(() => {
    log(`global bound of ${hardLimitMs(opts) / 1000} s reached: printing what was measured`);
    finish({ aborted: "global time bound reached" });
    Deno.exit(3);
  }, hardLimitMs(opts));

  try {
    const probe = await RelaySocket.connect(opts.url, 5000);
    await probe.close();
  } catch (err) {
    log(`cannot reach ${opts.url}: ${errorText(err)}`);
    clearTimeout(watchdog);
    finish({ error: `Cannot reach relay: ${errorText(err)}` });
    return 1;
  }
  report.machine = machine();
  report.nip11 = await nip11(opts.url);
  report.options = { ...opts };

  // Everything timed is signed and serialized here, before any clock starts.
  log("signing the workload");
  let ingestPlan: IngestPlan | null = null;
  let fanoutPlan: FanoutPlan | null = null;
  if (opts.only.includes("ingest")) ingestPlan = planIngest(ctx);
  if (opts.only.includes("fanout")) fanoutPlan = planFanout(ctx);
  report.signing = {
    events: ctx.corpus.signed,
    ms: round2(ctx.corpus.signMs),
    per_event_ms: ctx.corpus.signed ? round2(ctx.corpus.signMs / ctx.corpus.signed) : null,
    note: "seed events for the query scenario are signed while seeding, outside any timed phase",
  };
  log(`signed ${ctx.corpus.signed} events in ${round2(ctx.corpus.signMs)} ms`);

  // connections runs first: the web process's RSS grows and shrinks with V8's heap, and only a
  // process that has not yet churned through the other scenarios gives a stable per-connection
  // figure (see docs/PERFORMANCE.md).
  const runs: [string, () => Promise<Json>][] = [
    ["connections", () => runConnections(ctx)],
    ["ingest", () => runIngest(ctx, ingestPlan as IngestPlan)],
    ["query", () => runQuery(ctx)],
    ["fanout", () => runFanout(ctx, fanoutPlan as FanoutPlan)],
    ["abuse", () => runAbuse(ctx)],
  ];
  for (const [name, run] of runs) {
    if (!(opts.only as string[]).includes(name)) continue;
    try {
      scenarios[name] = await run();
    } catch (err) {
      log(`${name}: failed: ${errorText(err)}`);
      scenarios[name] = { error: errorText(err) };
    }
  }
  clearTimeout(watchdog);
  finish();
  return 0;
}

// Exit explicitly: a relay that never completes a close handshake must not keep the bench alive.
Deno.exit(await main());
