/**
 * The worker's Prometheus metrics and its small HTTP server (`/metrics`, `/healthz` on
 * METRICS_PORT): events by kind class and outcome, job duration and queue wait per queue, and
 * queue depth per queue and state (read at each scrape).
 *
 * @module
 */
import { type Counter, type Histogram, metricsResponse, Registry } from "../lib/metrics.ts";
import { kindClass } from "../lib/nostr/event.ts";

/** Queue states reported by `nostr_queue_jobs`. */
const QUEUE_STATES = ["waiting", "active", "delayed", "failed", "prioritized"] as const;

/** Job counts a queue reports (BullMQ `Queue.getJobCounts`). */
export interface CountableQueue {
  name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** What the worker records. */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly #events: Counter;
  readonly #duration: Histogram;
  readonly #wait: Histogram;

  constructor(queues: readonly CountableQueue[]) {
    const r = this.registry;
    this.#events = r.counter(
      "nostr_worker_events_total",
      "NewEvent jobs by kind class and outcome (stored, duplicate, a refusal prefix, or error)",
    );
    this.#duration = r.histogram(
      "nostr_worker_job_seconds",
      "Time a job runs, from pickup to its reply published, by queue",
    );
    this.#wait = r.histogram(
      "nostr_worker_job_wait_seconds",
      "Time from a job's enqueueing (web process clock) to its pickup, by queue",
    );
    r.gauge("nostr_queue_jobs", "Jobs per BullMQ queue and state (read at scrape)").collect(
      async () => {
        const out: [Record<string, string>, number][] = [];
        await Promise.all(queues.map(async (q) => {
          const counts = await q.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) {
            out.push([{ queue: q.name, state }, counts[state] ?? 0]);
          }
        }));
        return out;
      },
    );
  }

  /**
   * A job of `queue` ran from `startedMs` to now; `enqueuedMs` is BullMQ's `job.timestamp`.
   * For NewEvent jobs `event` (the job's JSON) and `result` (the OK message, "" when stored;
   * an Error when it failed) give the event counter.
   */
  job(
    queue: string,
    enqueuedMs: number,
    startedMs: number,
    event?: { json: unknown; result: unknown },
  ): void {
    const now = Date.now();
    this.#duration.observe((now - startedMs) / 1000, { queue });
    if (enqueuedMs > 0) this.#wait.observe(Math.max(0, startedMs - enqueuedMs) / 1000, { queue });
    if (event) {
      this.#events.inc({ kind_class: kindClassOf(event.json), outcome: outcomeOf(event.result) });
    }
  }
}

/** The kind class of a job's event JSON ("unknown" when it has no readable kind). */
function kindClassOf(json: unknown): string {
  if (typeof json !== "string") return "unknown";
  const m = /"kind":(\d{1,5})[,}]/.exec(json);
  return m ? kindClass(Number(m[1])) : "unknown";
}

/** "stored" for "", "error" for a failure, else the OK message's prefix. */
export function outcomeOf(result: unknown): string {
  if (result === "") return "stored";
  if (typeof result !== "string") return "error";
  const m = /^([a-z-]{1,32}):/.exec(result);
  return m ? m[1]! : "refused";
}

/** A running metrics server. */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` and `GET /healthz` (200 "ok" while `healthy()`, else 503) on
 * `hostname:port`. Returns undefined when `port` is 0 (off).
 * @throws {Error} when the port cannot be bound
 */
export function serveMetrics(
  metrics: WorkerMetrics,
  opts: { hostname: string; port: number; healthy: () => boolean },
): MetricsServer | undefined {
  if (opts.port === 0) return undefined;
  const server = Deno.serve(
    { hostname: opts.hostname, port: opts.port, onListen: () => {} },
    function metricsHandler(req) {
      const path = new URL(req.url).pathname;
      if (req.method !== "GET" && req.method !== "HEAD") {
        return new Response("method not allowed", { status: 405 });
      }
      if (path === "/metrics") return metricsResponse(metrics.registry);
      if (path === "/healthz") {
        const ok = opts.healthy();
        return new Response(ok ? "ok" : "stopping", {
          status: ok ? 200 : 503,
          headers: { "content-type": "text/plain; charset=utf-8" },
        });
      }
      return new Response("not found", { status: 404 });
    },
  );
  return { port: server.addr.port, close: () => server.shutdown() };
}
