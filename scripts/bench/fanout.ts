/**
 * Fan-out scenario: many subscribers hold one REQ on a tag unique to this run; one publisher
 * sends pre-signed events carrying that tag at a fixed rate; every (subscriber, event) delivery
 * is timed from the moment the EVENT was sent, and lost or duplicated deliveries are counted.
 *
 * @module
 */
import { type BenchContext, sleep } from "./context.ts";
import { prepare, type PreparedEvent } from "./corpus.ts";
import { closeAll, connectMany, rawEventId, RelaySocket } from "./relay_socket.ts";
import { reasonKey, round2, Samples, Tally } from "./stats.ts";

/** The signed workload of the fanout scenario. */
export interface FanoutPlan {
  tag: string;
  events: PreparedEvent[];
}

/** Signs `rate × duration` kind-1 notes tagged with a tag unique to this run. */
export function planFanout(ctx: BenchContext): FanoutPlan {
  const tag = `bench-fanout-${crypto.randomUUID().slice(0, 8)}`;
  const n = ctx.opts.rate * ctx.opts.duration;
  return { tag, events: prepare(ctx.corpus.taggedNotes(ctx.corpus.newAuthor(), tag, n)) };
}

/** Runs the fanout scenario. */
export async function runFanout(
  ctx: BenchContext,
  plan: FanoutPlan,
): Promise<Record<string, unknown>> {
  const { opts, log } = ctx;
  const n = plan.events.length;
  const subs = opts.subscribers;
  const index = new Map(plan.events.map((e, i) => [e.id, i]));
  const sentAt = new Float64Array(n).fill(Number.NaN);
  const lastAt = new Float64Array(n).fill(Number.NaN);
  const seen = new Uint8Array(subs * n);
  const perEvent = new Uint16Array(n);
  const latency = new Samples();
  let duplicates = 0;
  let foreign = 0;

  log(`fanout: opening ${subs} subscribers on #t ${plan.tag}`);
  const reqEose = new Samples();
  const subscribeFailures = new Tally();
  const deadline = performance.now() + opts.timeout * 1000;
  const ready: Promise<boolean>[] = [];
  const { sockets, failures } = await connectMany(opts.url, subs, {
    concurrency: 50,
    deadline,
    onOpen(socket, s) {
      const t0 = performance.now();
      ready.push(
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), Math.max(0, deadline - t0));
          socket.handlers = {
            eose(_sid, now) {
              clearTimeout(timer);
              reqEose.push(now - t0);
              resolve(true);
            },
            closed(_sid, message) {
              clearTimeout(timer);
              subscribeFailures.add(reasonKey(message));
              resolve(false);
            },
            event(_sid, raw, now) {
              const id = rawEventId(raw);
              const i = id === undefined ? undefined : index.get(id);
              if (i === undefined) {
                foreign++;
                return;
              }
              const bit = s * n + i;
              if (seen[bit]) {
                duplicates++;
                return;
              }
              seen[bit] = 1;
              perEvent[i] = (perEvent[i] ?? 0) + 1;
              latency.push(now - (sentAt[i] ?? now));
              if (!(now <= (lastAt[i] ?? 0))) lastAt[i] = now;
            },
          };
          socket.send(JSON.stringify(["REQ", "fan", { kinds: [1], "#t": [plan.tag] }]));
        }),
      );
    },
  });
  for (const f of failures) subscribeFailures.add(reasonKey(f));
  const subscribed = (await Promise.all(ready)).filter(Boolean).length;
  log(`fanout: ${subscribed}/${subs} subscribed; publishing ${n} events at ${opts.rate}/s`);

  const publisher = await RelaySocket.connect(opts.url, 10_000);
  const okLatency = new Samples();
  const rejections = new Tally();
  const accepted = new Set<number>();
  let answered = 0;
  publisher.handlers = {
    ok(id, ok, message, now) {
      const i = index.get(id);
      if (i === undefined) return;
      answered++;
      okLatency.push(now - (sentAt[i] ?? now));
      if (ok) accepted.add(i);
      else rejections.add(reasonKey(message));
    },
  };
  const stopWatch = await ctx.procs.start();
  const started = performance.now();
  let next = 0;
  while (next < n) {
    const due = Math.min(n, Math.floor(((performance.now() - started) / 1000) * opts.rate) + 1);
    while (next < due) {
      const ev = plan.events[next] as PreparedEvent;
      sentAt[next] = performance.now();
      publisher.send(ev.frame);
      next++;
    }
    await sleep(Math.max(1, (next / opts.rate) * 1000 - (performance.now() - started)));
  }
  const publishedMs = performance.now() - started;
  // Drain: wait for every OK and every expected delivery, bounded.
  const openSubs = () => sockets.filter((s) => s.isOpen).length;
  const drainEnd = performance.now() + opts.timeout * 1000;
  let drainTimedOut = true;
  while (performance.now() < drainEnd) {
    const expected = accepted.size * Math.min(subscribed, openSubs());
    if (answered === n && latency.length >= expected) {
      drainTimedOut = false;
      break;
    }
    await sleep(50);
  }
  const procs = await stopWatch();
  const stillOpen = openSubs();
  const relayClosed = new Tally();
  for (const s of sockets) {
    if (s.closeInfo) relayClosed.add(`${s.closeInfo.code} ${s.closeInfo.reason}`.trim());
  }
  await publisher.close();
  await closeAll(sockets);

  let deliveredAccepted = 0;
  let deliveredRejected = 0;
  const allSubs = new Samples();
  for (let i = 0; i < n; i++) {
    if (accepted.has(i)) {
      deliveredAccepted += perEvent[i] ?? 0;
      if ((perEvent[i] ?? 0) >= subscribed) allSubs.push((lastAt[i] ?? 0) - (sentAt[i] ?? 0));
    } else deliveredRejected += perEvent[i] ?? 0;
  }
  const expected = accepted.size * subscribed;
  if (drainTimedOut) {
    ctx.timeouts.push(`fanout: ${expected - deliveredAccepted} deliveries missing`);
  }
  const summary = latency.summary();
  log(
    `fanout: delivered ${deliveredAccepted}/${expected}, p50 ${summary.p50} ms, p99 ${summary.p99} ms`,
  );
  return {
    subscribers: subs,
    subscribed,
    subscribe_failures: subscribeFailures.toJSON(),
    subscribe_eose_ms: reqEose.summary(),
    published: n,
    publish_rate_target: opts.rate,
    publish_rate_actual: round2(n / (publishedMs / 1000)),
    ok_true: accepted.size,
    ok_false: answered - accepted.size,
    ok_unanswered: n - answered,
    rejections: rejections.toJSON(),
    publisher_ok_ms: okLatency.summary(),
    expected,
    delivered: deliveredAccepted,
    lost: Math.max(0, expected - deliveredAccepted),
    duplicates,
    delivered_without_ok_true: deliveredRejected,
    foreign_events: foreign,
    subscribers_closed_by_relay: relayClosed.toJSON(),
    subscribers_open_at_end: stillOpen,
    drain_timed_out: drainTimedOut,
    delivery_ms: summary,
    all_subscribers_ms: allSubs.summary(),
    procs,
  };
}
