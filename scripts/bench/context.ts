/**
 * What every scenario receives: options, the workload generator, the process watch, progress
 * output and the shared list of events known to be stored (for the query scenario).
 *
 * @module
 */
import type { Corpus, SignedEvent } from "./corpus.ts";
import type { BenchOptions } from "./options.ts";
import type { ProcWatch } from "./procs.ts";

/** The fields of a stored event that query parameters are drawn from. */
export interface KnownEvent {
  id: string;
  pubkey: string;
  kind: number;
  created_at: number;
  e: string[];
  p: string[];
  t: string[];
}

/** Shared state of one bench run. */
export interface BenchContext {
  opts: BenchOptions;
  corpus: Corpus;
  procs: ProcWatch;
  /** Writes one progress line to stderr (unless --quiet). */
  log: (msg: string) => void;
  /** Phases that hit their time bound, in words; reported at the top level. */
  timeouts: string[];
  /** Events this run saw accepted (OK true), for drawing query parameters. */
  known: KnownEvent[];
}

/** Keeps what the query scenario needs of an event (at most 10 values per tag name). */
export function knownOf(ev: SignedEvent): KnownEvent {
  const k: KnownEvent = {
    id: ev.id,
    pubkey: ev.pubkey,
    kind: ev.kind,
    created_at: ev.created_at,
    e: [],
    p: [],
    t: [],
  };
  for (const tag of ev.tags) {
    const [name, value] = tag;
    if (value === undefined) continue;
    if ((name === "e" || name === "p" || name === "t") && k[name].length < 10) k[name].push(value);
  }
  return k;
}

/** A progress printer: one line per call on stderr, prefixed with seconds since start. */
export function createProgress(quiet: boolean): (msg: string) => void {
  const started = performance.now();
  const encoder = new TextEncoder();
  return function progress(msg: string): void {
    if (quiet) return;
    const s = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
    try {
      Deno.stderr.writeSync(encoder.encode(`[bench ${s}s] ${msg}\n`));
    } catch {
      // stderr closed: progress is optional
    }
  };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Message of an unknown thrown value. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
