/**
 * The web process's Prometheus metrics (served on `/metrics`, lib/metrics.ts): open connections,
 * messages by verb, refusals by prefix, EVENT receipt → OK latency, bytes in and out, queue depth
 * per queue (read at each scrape), and the time from enqueueing a REQ, COUNT or AUTH job to its
 * first reply (queue wait + worker + pub/sub; the worker's own metrics give the first two).
 *
 * @module
 */
import { type Counter, type Histogram, Registry } from "../lib/metrics.ts";

/** Job counts a queue reports (BullMQ `getJobCounts`). */
export interface CountableQueue {
  name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** Queue states reported by `nostr_queue_jobs`. */
export const QUEUE_STATES = ["waiting", "active", "delayed", "failed", "prioritized"] as const;

/** A reply awaited longer than this is no longer timed (its connection went away). */
const REPLY_TIMER_MAX_AGE_MS = 60_000;

/** What the web process records; every method is cheap and synchronous. */
export class WebMetrics {
  readonly registry = new Registry();
  readonly #messages: Counter;
  readonly #refusals: Counter;
  readonly #eventOk: Histogram;
  readonly #bytesOut: Counter;
  readonly #bytesIn: Counter;
  readonly #replies: Histogram;
  /** `<job>:<cid>:<key>` → time the job was enqueued (performance.now()). */
  readonly #awaiting = new Map<string, number>();

  constructor(deps: { connections: () => number; queues: readonly CountableQueue[] }) {
    const r = this.registry;
    r.gauge("nostr_connections_open", "Open websocket connections of this web process")
      .collect(() => [[undefined, deps.connections()]]);
    this.#messages = r.counter("nostr_messages_total", "Client messages received, by verb");
    this.#refusals = r.counter(
      "nostr_refusals_total",
      "OK false and CLOSED answers sent, by frame and machine-readable prefix",
    );
    this.#eventOk = r.histogram(
      "nostr_event_ok_seconds",
      "Time from an EVENT's receipt to its OK being sent",
    );
    this.#replies = r.histogram(
      "nostr_reply_seconds",
      "Time from enqueueing a job to its first reply arriving over pub/sub, by job",
    );
    this.#bytesOut = r.counter("nostr_outgoing_bytes_total", "Bytes sent to clients");
    this.#bytesIn = r.counter("nostr_incoming_bytes_total", "Bytes received from clients");
    r.gauge("nostr_queue_jobs", "Jobs per BullMQ queue and state (read at scrape)").collect(
      async () => {
        const out: [Record<string, string>, number][] = [];
        await Promise.all(deps.queues.map(async (q) => {
          const counts = await q.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) {
            out.push([{ queue: q.name, state }, counts[state] ?? 0]);
          }
        }));
        return out;
      },
    );
  }

  /** A client message; `verb` is its command, or "invalid" when it did not parse. */
  message(verb: string, bytes: number): void {
    this.#messages.inc({ verb });
    this.#bytesIn.inc(undefined, bytes);
  }

  /** A frame sent to a client: counts bytes, and refusals (OK false, CLOSED) by prefix. */
  sent(frame: string, bytes: number): void {
    this.#bytesOut.inc(undefined, bytes);
    const kind = refusalKind(frame);
    if (kind) this.#refusals.inc({ frame: kind, prefix: reasonPrefix(frame, kind) });
  }

  /** An EVENT answered `seconds` after its receipt. */
  eventAnswered(seconds: number): void {
    this.#eventOk.observe(seconds);
  }

  /** A job was enqueued; its first reply is matched by `job`, `cid` and `key`. */
  enqueued(job: string, cid: string, key: string): void {
    this.#awaiting.set(`${job}:${cid}:${key}`, performance.now());
  }

  /** A reply published on `cid`'s channel (raw message): times the job it answers, if any. */
  reply(cid: string, message: string): void {
    if (!this.#awaiting.size) return;
    const nl = message.indexOf("\n");
    let header: { op?: string; sid?: string; eventId?: string };
    try {
      header = JSON.parse(nl < 0 ? message : message.slice(0, nl));
    } catch {
      return;
    }
    if (header.op === "events" || header.op === "closed") {
      this.#answered("NewSubscription", cid, String(header.sid));
      this.#answered("CountRequest", cid, String(header.sid));
    } else if (header.op === "auth") {
      this.#answered("Authorize", cid, String(header.eventId));
    } else if (header.op === "send" && nl >= 0 && message.startsWith('["COUNT",', nl + 1)) {
      try {
        const frame = JSON.parse(message.slice(nl + 1).split("\n", 1)[0]!);
        this.#answered("CountRequest", cid, String(frame[1]));
      } catch {
        // not a frame we time
      }
    }
  }

  #answered(job: string, cid: string, key: string): void {
    const k = `${job}:${cid}:${key}`;
    const at = this.#awaiting.get(k);
    if (at === undefined) return;
    this.#awaiting.delete(k);
    this.#replies.observe((performance.now() - at) / 1000, { job });
  }

  /** Forgets jobs awaited for more than a minute (their connection closed first). */
  prune(): void {
    const oldest = performance.now() - REPLY_TIMER_MAX_AGE_MS;
    for (const [k, at] of this.#awaiting) if (at < oldest) this.#awaiting.delete(k);
  }
}

/** "OK" for an OK false frame, "CLOSED" for a CLOSED frame, else undefined. */
function refusalKind(frame: string): "OK" | "CLOSED" | undefined {
  if (frame.startsWith('["OK",')) return frame.includes('",false,"') ? "OK" : undefined;
  if (frame.startsWith('["CLOSED",')) return "CLOSED";
  return undefined;
}

/** The machine-readable prefix of a refusal's reason (`blocked`, `error`, ...), or "none". */
export function reasonPrefix(frame: string, kind: "OK" | "CLOSED"): string {
  try {
    const parsed = JSON.parse(frame) as unknown[];
    const reason = String(parsed[kind === "OK" ? 3 : 2] ?? "");
    const m = /^([a-z-]{1,32}):/.exec(reason);
    return m ? m[1]! : "none";
  } catch {
    return "none";
  }
}
