/**
 * Connections scenario: opens many idle connections, each holding one REQ (a notification-style
 * filter that matches nothing stored), and reports connect and REQ → EOSE times and, given
 * `--pid`, the web process's resident memory before, while holding them, and after closing them.
 *
 * @module
 */
import { type BenchContext, sleep } from "./context.ts";
import { closeAll, connectMany, type RelaySocket } from "./relay_socket.ts";
import { reasonKey, round2, Samples, Tally } from "./stats.ts";

const SETTLE_MS = 2000;
const STAGES = 4;
const STAGE_SETTLE_MS = 500;

/** Least-squares slope of y over x; null with fewer than two distinct x. */
function slope(points: [number, number][]): number | null {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : null;
}

function randomHex32(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** Runs the connections scenario. */
export async function runConnections(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { opts, log, procs } = ctx;
  const hasWeb = procs.labels.includes("web");
  await sleep(hasWeb ? SETTLE_MS : 0);
  const before = hasWeb ? await procs.rss("web") : null;
  if (hasWeb && !before) log(`connections: --pid matches no process; memory not reported`);
  if (before && before.pids.length > 1) {
    log(
      `connections: --pid matches ${before.pids.length} processes (${before.pids}); summing them`,
    );
  }

  log(`connections: opening ${opts.idle} idle connections, ${opts.connectConcurrency} at a time`);
  const stopWatch = await procs.start();
  const connectMs = new Samples();
  const eoseMs = new Samples();
  const closedReq = new Tally();
  const deadline = performance.now() + opts.timeout * 1000;
  const sockets: RelaySocket[] = [];
  const failures: string[] = [];
  const curve: [number, number][] = before ? [[0, before.kb]] : [];
  let elapsedMs = 0;
  // Four stages, with the web process's RSS read after each, so the per-connection cost can be
  // fitted over five points instead of two (V8 heap growth makes any single delta noisy).
  for (let stage = 1; stage <= STAGES; stage++) {
    const target = Math.round((opts.idle * stage) / STAGES);
    const eoses: Promise<void>[] = [];
    const r = await connectMany(opts.url, target - (sockets.length + failures.length), {
      concurrency: opts.connectConcurrency,
      deadline,
      onOpen(socket) {
        connectMs.push(socket.connectMs);
        const t0 = performance.now();
        eoses.push(
          new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.max(0, deadline - t0));
            socket.handlers = {
              eose(_sid, now) {
                clearTimeout(timer);
                eoseMs.push(now - t0);
                resolve();
              },
              closed(_sid, message) {
                clearTimeout(timer);
                closedReq.add(reasonKey(message));
                resolve();
              },
            };
            const filter = { kinds: [1, 7], "#p": [randomHex32()], limit: 10 };
            socket.send(JSON.stringify(["REQ", "idle", filter]));
          }),
        );
      },
    });
    elapsedMs += r.elapsedMs;
    sockets.push(...r.sockets);
    failures.push(...r.failures);
    await Promise.all(eoses);
    if (hasWeb && stage < STAGES) {
      await sleep(STAGE_SETTLE_MS);
      const rss = await procs.rss("web");
      if (rss) curve.push([sockets.length, rss.kb]);
    }
    if (performance.now() >= deadline) break;
  }
  log(`connections: ${sockets.length} open, ${eoseMs.length} EOSE; holding ${SETTLE_MS} ms`);
  await sleep(SETTLE_MS);
  const holding = hasWeb ? await procs.rss("web") : null;
  if (holding) curve.push([sockets.length, holding.kb]);
  const report = await stopWatch();
  const open = sockets.filter((s) => s.isOpen).length;
  const relayClosed = new Tally();
  for (const s of sockets) {
    if (s.closeInfo) relayClosed.add(`${s.closeInfo.code} ${s.closeInfo.reason}`.trim());
  }
  const failed = new Tally();
  for (const f of failures) failed.add(reasonKey(f));
  if (sockets.length < opts.idle) {
    ctx.timeouts.push(`connections: ${opts.idle - sockets.length} connections not opened`);
  }

  log(`connections: closing`);
  await closeAll(sockets);
  // Also lets the relay finish its close work before the next scenario starts.
  await sleep(SETTLE_MS);
  const after = hasWeb ? await procs.rss("web") : null;
  const perConn = before && holding && sockets.length > 0
    ? round2((holding.kb - before.kb) / sockets.length)
    : null;
  // The marginal cost: fitted over the stages only, so one-time growth at the first connections
  // (code paths warming up, buffers) does not count per connection.
  const fit = slope(curve.slice(1));
  if (perConn !== null) log(`connections: ${perConn} KB per idle connection`);
  return {
    requested: opts.idle,
    opened: sockets.length,
    failed: failed.toJSON(),
    open_after_hold: open,
    closed_by_relay: relayClosed.toJSON(),
    eose_received: eoseMs.length,
    req_closed: closedReq.toJSON(),
    open_elapsed_ms: round2(elapsedMs),
    connections_per_s: elapsedMs > 0 ? round2(sockets.length / (elapsedMs / 1000)) : null,
    connect_ms: connectMs.summary(),
    eose_ms: eoseMs.summary(),
    web_memory: hasWeb
      ? {
        pids: before?.pids ?? holding?.pids ?? [],
        rss_before_kb: before?.kb ?? null,
        rss_holding_kb: holding?.kb ?? null,
        rss_after_close_kb: after?.kb ?? null,
        per_connection_kb: perConn,
        rss_curve_kb: curve,
        per_connection_kb_fit: fit === null ? null : round2(fit),
      }
      : "pass --pid=<web pid> to measure",
    procs: report,
  };
}
