/**
 * Command-line options of `deno task bench`: every size and time bound of the four scenarios.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The scenarios, in the order they run. */
export const SCENARIOS = ["ingest", "query", "fanout", "connections", "abuse"] as const;
/** The scenarios run without --only (abuse is opt-in). */
export const DEFAULT_SCENARIOS = ["ingest", "query", "fanout", "connections"] as const;
/** One scenario name. */
export type Scenario = typeof SCENARIOS[number];

/** Parsed and validated options. Times are in seconds unless named `Ms`. */
export interface BenchOptions {
  url: string;
  only: Scenario[];
  /** ingest: events sent by the loaded phase, connections, events in flight per connection. */
  events: number;
  conns: number;
  inFlight: number;
  /** ingest: events of the unloaded phase (one connection, one in flight). */
  unloaded: number;
  /** query: stored events to have before querying (0 with --no-seed). */
  seed: number;
  noSeed: boolean;
  queryConns: number;
  queries: number;
  /** query and fanout: seconds of the measured phase. */
  duration: number;
  /** fanout: subscriber connections and publish rate (events/s). */
  subscribers: number;
  rate: number;
  /** connections: idle connections to open, and how many handshakes at once. */
  idle: number;
  connectConcurrency: number;
  /** Upper bound (s) of every waiting phase; seeding gets three times this. */
  timeout: number;
  /** Process selectors: `web` (from --pid) plus each `label=selector` of --watch. */
  watch: Record<string, string>;
  quiet: boolean;
}

/** The usage text printed by --help. */
export const USAGE = `deno task bench [ws://host:port] [flags]

A load generator for a running relay (default ws://127.0.0.1:3000). Prints one JSON document on
stdout; progress goes to stderr.

  --only=LIST             scenarios to run, comma separated (default: ${
  DEFAULT_SCENARIOS.join(",")
};
                          also: abuse, a normal client's REQ latency alone, beside --idle idle
                          connections, then beside those plus a rate-limited spammer; needs
                          the relay run with TRUST_PROXY_HEADER=x-forwarded-for)
  --events=N              ingest: events of the loaded phase (default 8000)
  --conns=N               ingest: publisher connections (default 8)
  --in-flight=N           ingest: events in flight per connection (default 50)
  --unloaded=N            ingest: events sent one at a time on one connection (default 200)
  --seed=N                query: stored events to query over (default 20000; events the ingest
                          scenario stored in this run count towards it)
  --no-seed               query: seed nothing; sample what the relay already stores
  --query-conns=N         query: connections issuing REQs, one in flight each (default 8)
  --queries=N             query: stop after N queries (default 20000)
  --duration=S            query, fanout and each abuse phase: seconds measured (default 10)
  --subscribers=N         fanout: subscriber connections (default 200)
  --rate=N                fanout: events published per second (default 100)
  --idle=N                connections and abuse: idle connections with one REQ each (default 2000)
  --connect-concurrency=N connections: handshakes in progress at once (default 100)
  --timeout=S             bound of each waiting phase (default 60; seeding gets 3x)
  --pid=PID|NAME          the web process, for memory and CPU (pid, or an exact argv element
                          such as main.ts, or a process name)
  --watch=LABEL=SEL,...   more processes to report CPU and memory for, e.g.
                          worker=workers/main.ts,postgres=postgres,redis=redis-server
  --quiet                 no progress lines
  --help                  this text
`;

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`Cannot parse --${name}: expected an integer >= ${min}, got "${value}"`);
  }
  return n;
}

function parseWatch(specs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs.flatMap((s) => s.split(",")).filter(Boolean)) {
    const eq = spec.indexOf("=");
    if (eq <= 0 || eq === spec.length - 1) {
      throw new RangeError(`Cannot parse --watch: expected LABEL=SELECTOR, got "${spec}"`);
    }
    out[spec.slice(0, eq)] = spec.slice(eq + 1);
  }
  return out;
}

/** Parses `args` (Deno.args); throws a RangeError with a one-line message on bad input. */
export function parseOptions(args: string[]): BenchOptions | "help" {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      only: { type: "string" },
      events: { type: "string" },
      conns: { type: "string" },
      "in-flight": { type: "string" },
      unloaded: { type: "string" },
      seed: { type: "string" },
      "no-seed": { type: "boolean" },
      "query-conns": { type: "string" },
      queries: { type: "string" },
      duration: { type: "string" },
      subscribers: { type: "string" },
      rate: { type: "string" },
      idle: { type: "string" },
      "connect-concurrency": { type: "string" },
      timeout: { type: "string" },
      pid: { type: "string" },
      watch: { type: "string", multiple: true },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (positionals.length > 1) {
    throw new RangeError(`Cannot parse arguments: one relay URL expected`);
  }
  const url = positionals[0] ?? "ws://127.0.0.1:3000";
  if (!/^wss?:\/\/[^\s/]+/.test(url)) {
    throw new RangeError(`Cannot parse relay URL: expected ws:// or wss://, got "${url}"`);
  }
  const only = (values.only ?? DEFAULT_SCENARIOS.join(",")).split(",").map((s) => s.trim()).filter(
    Boolean,
  );
  for (const s of only) {
    if (!(SCENARIOS as readonly string[]).includes(s)) {
      throw new RangeError(
        `Cannot parse --only: unknown scenario "${s}" (${SCENARIOS.join(", ")})`,
      );
    }
  }
  const watch = parseWatch(values.watch ?? []);
  if (values.pid) watch.web = values.pid;
  const noSeed = values["no-seed"] ?? false;
  return {
    url,
    only: SCENARIOS.filter((s) => only.includes(s)),
    events: positiveInt("events", values.events, 8000),
    conns: positiveInt("conns", values.conns, 8),
    inFlight: positiveInt("in-flight", values["in-flight"], 50),
    unloaded: positiveInt("unloaded", values.unloaded, 200, 0),
    seed: noSeed ? 0 : positiveInt("seed", values.seed, 20000, 0),
    noSeed,
    queryConns: positiveInt("query-conns", values["query-conns"], 8),
    queries: positiveInt("queries", values.queries, 20000),
    duration: positiveInt("duration", values.duration, 10),
    subscribers: positiveInt("subscribers", values.subscribers, 200),
    rate: positiveInt("rate", values.rate, 100),
    idle: positiveInt("idle", values.idle, 2000),
    connectConcurrency: positiveInt("connect-concurrency", values["connect-concurrency"], 100),
    timeout: positiveInt("timeout", values.timeout, 60),
    watch,
    quiet: values.quiet ?? false,
  };
}
