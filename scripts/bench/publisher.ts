/**
 * Pipelined publishing: each connection keeps up to N events in flight, sending the next one as
 * soon as an OK comes back, and times every EVENT → OK round trip.
 *
 * @module
 */
import type { PreparedEvent } from "./corpus.ts";
import type { RelaySocket } from "./relay_socket.ts";
import { reasonKey, round2, Samples, Tally } from "./stats.ts";

/** Where a connection gets its next event; undefined when it has no more. */
export type EventSource = () => PreparedEvent | undefined;

/** What a publishing run observed. */
export interface PublishResult {
  sent: number;
  okTrue: number;
  okFalse: number;
  /** OK false messages, grouped (numbers and hex masked). */
  rejections: Tally;
  /** Events sent without an OK when the run ended (deadline or lost connection). */
  unanswered: number;
  /** OKs for ids this run had not sent or had already answered. */
  unexpectedOk: number;
  notices: Tally;
  /** Connections the relay closed during the run, by code and reason. */
  closes: Tally;
  latency: Samples;
  byKind: Map<number, Samples>;
  /** performance.now() of the first send and of the last OK. */
  firstSend: number;
  lastAnswer: number;
  timedOut: boolean;
  /** Ids answered OK true, in answer order. */
  accepted: string[];
}

/**
 * Publishes every event the sources yield, socket i pulling from source i with at most
 * `inFlight` unanswered events, until the sources are empty and every OK is in, or `deadline`
 * (a performance.now() time) passes.
 */
export async function publish(
  sockets: RelaySocket[],
  sources: EventSource[],
  opts: { inFlight: number; deadline: number },
): Promise<PublishResult> {
  const r: PublishResult = {
    sent: 0,
    okTrue: 0,
    okFalse: 0,
    rejections: new Tally(),
    unanswered: 0,
    unexpectedOk: 0,
    notices: new Tally(),
    closes: new Tally(),
    latency: new Samples(),
    byKind: new Map(),
    firstSend: Number.NaN,
    lastAnswer: Number.NaN,
    timedOut: false,
    accepted: [],
  };
  const lanes = sockets.map((socket, i) => runLane(socket, sources[i] ?? (() => undefined)));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), Math.max(0, opts.deadline - performance.now()));
  });
  const outcome = await Promise.race([Promise.all(lanes.map((l) => l.done)), expired]);
  clearTimeout(timer);
  if (outcome === "timeout") r.timedOut = true;
  for (const lane of lanes) {
    r.unanswered += lane.stop();
  }
  return r;

  function runLane(socket: RelaySocket, source: EventSource) {
    const pending = new Map<string, { t: number; kind: number }>();
    let exhausted = false;
    let stopped = false;
    let finish: () => void = () => {};
    const done = new Promise<void>((resolve) => finish = resolve);

    function pump(): void {
      while (!stopped && !exhausted && pending.size < opts.inFlight) {
        const ev = source();
        if (!ev) {
          exhausted = true;
          break;
        }
        const t = performance.now();
        if (!socket.send(ev.frame)) {
          exhausted = true;
          break;
        }
        if (r.sent === 0) r.firstSend = t;
        r.sent++;
        pending.set(ev.id, { t, kind: ev.kind });
      }
      if (exhausted && pending.size === 0) finish();
    }

    socket.handlers = {
      ok(id, accepted, message, now) {
        if (stopped) return;
        const p = pending.get(id);
        if (!p) {
          r.unexpectedOk++;
          return;
        }
        pending.delete(id);
        const ms = now - p.t;
        r.latency.push(ms);
        let k = r.byKind.get(p.kind);
        if (!k) r.byKind.set(p.kind, k = new Samples());
        k.push(ms);
        r.lastAnswer = now;
        if (accepted) {
          r.okTrue++;
          r.accepted.push(id);
        } else {
          r.okFalse++;
          r.rejections.add(reasonKey(message));
        }
        pump();
      },
      notice(message) {
        r.notices.add(reasonKey(message));
      },
    };
    socket.closed.then((info) => {
      if (stopped) return;
      r.closes.add(`${info.code} ${info.reason}`.trim());
      exhausted = true;
      stopped = true;
      finish();
    });
    pump();
    return {
      done,
      /** Stops sending; returns the events still unanswered. */
      stop(): number {
        stopped = true;
        return pending.size;
      },
    };
  }
}

/** Per-kind latency summaries of a run. */
export function kindSummaries(r: PublishResult): Record<string, ReturnType<Samples["summary"]>> {
  const out: Record<string, ReturnType<Samples["summary"]>> = {};
  for (const [kind, s] of [...r.byKind.entries()].sort((a, b) => a[0] - b[0])) {
    out[String(kind)] = s.summary();
  }
  return out;
}

/** The JSON figures of a publishing run (throughput over first send → last OK). */
export function publishReport(r: PublishResult): Record<string, unknown> {
  const elapsed = r.lastAnswer - r.firstSend;
  return {
    sent: r.sent,
    ok_true: r.okTrue,
    ok_false: r.okFalse,
    unanswered: r.unanswered,
    timed_out: r.timedOut,
    elapsed_ms: Number.isFinite(elapsed) ? round2(elapsed) : null,
    events_per_s: Number.isFinite(elapsed) && elapsed > 0
      ? round2((r.okTrue + r.okFalse) / (elapsed / 1000))
      : null,
    accepted_per_s: Number.isFinite(elapsed) && elapsed > 0
      ? round2(r.okTrue / (elapsed / 1000))
      : null,
    ok_latency_ms: r.latency.summary(),
    rejections: r.rejections.toJSON(),
    notices: r.notices.toJSON(),
    connections_closed_by_relay: r.closes.toJSON(),
    unexpected_ok: r.unexpectedOk,
  };
}
