/**
 * Abuse scenario (opt-in, `--only=abuse`): how a normal client's REQ → EOSE latency holds up
 * while the relay carries idle connections and a spammer. Three phases of `--duration` seconds
 * each: (1) the normal client alone; (2) beside `--idle` idle connections, each holding one REQ;
 * (3) beside those plus a spammer that sends EVENTs and REQs as fast as its answers come back,
 * from one IP, while the relay's per-IP rate limit refuses most of it.
 *
 * The relay tells the clients apart by the proxy header it trusts: run it with
 * `TRUST_PROXY_HEADER=x-forwarded-for`. Every connection still goes to the URL given (127.0.0.1);
 * only the handshake's `X-Forwarded-For` differs: the spammer is 10.66.0.1, the normal client
 * 10.66.0.2, idle connection i is 10.67.x.y. The normal client issues more messages than a
 * default rate limit allows (a loop of REQs for 30 s), so for a clean measurement its IP must be
 * in the relay's `unlimited_ips` set (e.g. `redis-cli sadd <prefix>unlimited_ips 10.66.0.2`);
 * otherwise its refused REQs show up under `errors`.
 *
 * @module
 */
import { type BenchContext, sleep } from "./context.ts";
import type { Author, SignedEvent } from "./corpus.ts";
import type { ProcReport } from "./procs.ts";
import { closeAll, connectMany, RelaySocket } from "./relay_socket.ts";
import { reasonKey, round2, Samples, Tally } from "./stats.ts";

/** The X-Forwarded-For value of each party. */
export const SPAMMER_IP = "10.66.0.1";
export const NORMAL_IP = "10.66.0.2";
/** The address idle connection `i` claims (distinct per connection, up to 16M). */
export function idleIp(i: number): string {
  return `10.${67 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}`;
}

const XFF = "X-Forwarded-For";
/** Authors and notes per author the normal client stores before measuring. */
const SEED_AUTHORS = 10;
const SEED_NOTES = 20;
/** Pre-signed events the spammer cycles through, and its messages awaiting an answer. */
const SPAM_EVENTS = 500;
const SPAM_WINDOW = 256;
/** The spammer sends one REQ after every this many EVENTs. */
const SPAM_EVENTS_PER_REQ = 3;
const SETTLE_MS = 1000;

/** The `prefix:` of a relay message ("" → "(none)"). */
function prefixOf(message: string): string {
  const m = /^([a-z-]+):/.exec(message);
  return m ? `${m[1]}:` : message === "" ? "(none)" : reasonKey(message);
}

/** The normal client: one connection, one REQ in flight, CLOSE after each EOSE. */
class NormalClient {
  #socket: RelaySocket | null = null;
  #next = 0;
  #url: string;
  #timeoutMs: number;
  reconnects = 0;

  constructor(url: string, timeoutMs: number) {
    this.#url = url;
    this.#timeoutMs = timeoutMs;
  }

  async #open(): Promise<RelaySocket> {
    if (this.#socket?.isOpen) return this.#socket;
    if (this.#socket) this.reconnects++;
    this.#socket = await RelaySocket.connect(this.#url, this.#timeoutMs, { [XFF]: NORMAL_IP });
    return this.#socket;
  }

  /** Stores the seed notes; returns the OK tally. */
  async seed(events: SignedEvent[], deadline: number): Promise<Record<string, number>> {
    const s = await this.#open();
    const oks = new Tally();
    const waiting = new Set(events.map((e) => e.id));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
      s.handlers = {
        ok(id, accepted, message) {
          if (!waiting.delete(id)) return;
          oks.add(accepted ? "accepted" : prefixOf(message));
          if (waiting.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      };
      for (const ev of events) s.send(JSON.stringify(["EVENT", ev]));
    });
    if (waiting.size > 0) oks.add("no answer", waiting.size);
    s.handlers = {};
    return oks.toJSON();
  }

  /** Issues REQs one after another until `durationMs` passed; each bounded by the timeout. */
  async measure(filters: Record<string, unknown>[], durationMs: number) {
    const eose = new Samples();
    const errors = new Tally();
    const started = performance.now();
    const end = started + durationMs;
    let queries = 0;
    while (performance.now() < end) {
      let s: RelaySocket;
      try {
        s = await this.#open();
      } catch (err) {
        errors.add(reasonKey(err instanceof Error ? err.message : String(err)));
        await sleep(100);
        continue;
      }
      const sid = `q${this.#next++}`;
      const filter = filters[queries % filters.length];
      queries++;
      const outcome = await new Promise<number | string>((resolve) => {
        const t0 = performance.now();
        const timer = setTimeout(() => resolve("timeout"), this.#timeoutMs);
        s.handlers = {
          eose(id, now) {
            if (id !== sid) return;
            clearTimeout(timer);
            resolve(now - t0);
          },
          closed(id, message) {
            if (id !== sid) return;
            clearTimeout(timer);
            resolve(`CLOSED ${prefixOf(message)}`);
          },
        };
        s.closed.then((c) => {
          clearTimeout(timer);
          resolve(`disconnected ${c.code}`);
        });
        if (!s.send(JSON.stringify(["REQ", sid, filter]))) {
          clearTimeout(timer);
          resolve("not sent: connection closed");
        }
      });
      if (typeof outcome === "number") {
        eose.push(outcome);
        s.send(JSON.stringify(["CLOSE", sid]));
      } else {
        errors.add(outcome);
      }
    }
    const elapsed = (performance.now() - started) / 1000;
    return {
      queries,
      queries_per_s: round2(eose.length / elapsed),
      eose_ms: eose.summary(),
      errors: errors.toJSON(),
      error_count: errors.total,
    };
  }

  async close(): Promise<void> {
    await this.#socket?.close();
  }
}

/** The spammer: EVENTs and REQs from one IP, as fast as its answers come back. */
class Spammer {
  #frames: string[];
  #url: string;
  #timeoutMs: number;
  #stop = false;
  #pending = 0;
  #wake: (() => void) | null = null;
  sent = { events: 0, reqs: 0 };
  accepted = new Tally();
  refused = new Tally();
  notices = new Tally();
  disconnects = new Tally();
  connectFailures = new Tally();
  unanswered = 0;
  startedAt = 0;
  stoppedAt = 0;
  #done: Promise<void> = Promise.resolve();

  constructor(url: string, events: SignedEvent[], timeoutMs: number) {
    this.#url = url;
    this.#timeoutMs = timeoutMs;
    this.#frames = events.map((e) => JSON.stringify(["EVENT", e]));
  }

  start(): void {
    this.startedAt = performance.now();
    this.#done = this.#run();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    this.#wake?.();
    await this.#done;
    this.stoppedAt = performance.now();
  }

  #answered(): void {
    this.#pending = Math.max(0, this.#pending - 1);
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async #run(): Promise<void> {
    let i = 0;
    while (!this.#stop) {
      let s: RelaySocket;
      try {
        s = await RelaySocket.connect(this.#url, this.#timeoutMs, { [XFF]: SPAMMER_IP });
      } catch (err) {
        this.connectFailures.add(reasonKey(err instanceof Error ? err.message : String(err)));
        await sleep(200);
        continue;
      }
      this.#pending = 0;
      s.handlers = {
        ok: (_id, ok, message) => {
          (ok ? this.accepted : this.refused).add(`EVENT ${prefixOf(message)}`);
          this.#answered();
        },
        eose: () => {
          this.accepted.add("REQ EOSE");
          this.#answered();
        },
        closed: (_id, message) => {
          this.refused.add(`REQ ${prefixOf(message)}`);
          this.#answered();
        },
        notice: (message) => this.notices.add(reasonKey(message)),
      };
      s.closed.then(() => this.#wake?.());
      while (!this.#stop && s.isOpen) {
        if (this.#pending >= SPAM_WINDOW) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              this.#wake = null;
              resolve();
            }, 1000);
            this.#wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          continue;
        }
        const n = i++;
        if (n % (SPAM_EVENTS_PER_REQ + 1) === SPAM_EVENTS_PER_REQ) {
          if (!s.send(JSON.stringify(["REQ", `spam${n % 8}`, { kinds: [1], limit: 5 }]))) break;
          this.sent.reqs++;
        } else {
          if (!s.send(this.#frames[n % this.#frames.length] as string)) break;
          this.sent.events++;
        }
        this.#pending++;
        // Let answers in now and then: sending never awaits, the window alone bounds it.
        if (n % 64 === 63) await sleep(0);
      }
      // A socket that stopped being open without our close: the relay ended it.
      if (!s.isOpen) {
        await Promise.race([s.closed, sleep(2500)]);
        const c = s.closeInfo;
        this.disconnects.add(c ? `${c.code} ${c.reason}`.trim() : "closed");
      }
      this.unanswered += this.#pending;
      this.#pending = 0;
      if (this.#stop) {
        await s.close();
        return;
      }
      await sleep(100);
    }
  }

  report(): Record<string, unknown> {
    const seconds = ((this.stoppedAt || performance.now()) - this.startedAt) / 1000;
    const total = this.sent.events + this.sent.reqs;
    const refusedJson = this.refused.toJSON();
    const rateLimited = Object.entries(refusedJson)
      .filter(([k]) => k.endsWith("rate-limited:"))
      .reduce((sum, [, v]) => sum + v, 0);
    return {
      ip: SPAMMER_IP,
      seconds: round2(seconds),
      sent: { ...this.sent, total },
      sent_per_s: seconds > 0 ? round2(total / seconds) : null,
      accepted: this.accepted.toJSON(),
      accepted_total: this.accepted.total,
      refused: refusedJson,
      refused_total: this.refused.total,
      refused_rate_limited: rateLimited,
      unanswered: this.unanswered,
      notices: this.notices.toJSON(),
      disconnected: this.disconnects.total > 0,
      disconnects: this.disconnects.toJSON(),
      connect_failures: this.connectFailures.toJSON(),
    };
  }
}

function note(author: Author, ctx: BenchContext, i: number): SignedEvent {
  return ctx.corpus.sign(author, 1, {
    created_at: Math.floor(Date.now() / 1000) - i,
    tags: [],
    content: `abuse bench note ${i} ${crypto.randomUUID()}`,
  });
}

/** Runs the abuse scenario. */
export async function runAbuse(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { opts, log, procs } = ctx;
  const timeoutMs = opts.timeout * 1000;
  const durationMs = opts.duration * 1000;

  log(`abuse: signing ${SEED_AUTHORS * SEED_NOTES} seed notes and ${SPAM_EVENTS} spam events`);
  const authors = Array.from({ length: SEED_AUTHORS }, () => ctx.corpus.newAuthor());
  const seedEvents = authors.flatMap((a) =>
    Array.from({ length: SEED_NOTES }, (_, i) => note(a, ctx, i))
  );
  const spamAuthor = ctx.corpus.newAuthor();
  const spamEvents = Array.from({ length: SPAM_EVENTS }, (_, i) => note(spamAuthor, ctx, i));
  // Alternating shapes: the recent notes, and one author's notes.
  const filters: Record<string, unknown>[] = [];
  for (const a of authors) {
    filters.push({ kinds: [1], limit: 20 }, { authors: [a.pubkey], limit: 10 });
  }

  const normal = new NormalClient(opts.url, timeoutMs);
  const phases: Record<string, unknown> = {};
  const idle: RelaySocket[] = [];
  let spammer: Spammer | null = null;
  let idleReport: Record<string, unknown> = {};
  let seeded: Record<string, number> = {};
  try {
    log(`abuse: seeding as ${NORMAL_IP}`);
    seeded = await normal.seed(seedEvents, performance.now() + timeoutMs);
    if (Object.keys(seeded).some((k) => k.startsWith("rate-limited"))) {
      log(`abuse: ${NORMAL_IP} is rate-limited; add it to the relay's unlimited_ips`);
    }

    const phase = async (name: string) => {
      log(`abuse: phase ${name}: measuring ${opts.duration} s`);
      const stopWatch = await procs.start();
      const r = await normal.measure(filters, durationMs);
      const p: Record<string, ProcReport> = await stopWatch();
      const eose = r.eose_ms;
      log(
        `abuse: phase ${name}: ${r.queries_per_s} q/s, EOSE p50 ${eose.p50} p99 ${eose.p99} ` +
          `max ${eose.max} ms, ${r.error_count} errors`,
      );
      phases[name] = { ...r, procs: p };
    };

    await phase("baseline");

    log(`abuse: opening ${opts.idle} idle connections, ${opts.connectConcurrency} at a time`);
    const idleEose = new Samples();
    const idleClosed = new Tally();
    const deadline = performance.now() + timeoutMs;
    const eoses: Promise<void>[] = [];
    const r = await connectMany(opts.url, opts.idle, {
      concurrency: opts.connectConcurrency,
      deadline,
      headers: (i) => ({ [XFF]: idleIp(i) }),
      onOpen(socket) {
        const t0 = performance.now();
        eoses.push(
          new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.max(0, deadline - t0));
            socket.handlers = {
              eose(_sid, now) {
                clearTimeout(timer);
                idleEose.push(now - t0);
                resolve();
              },
              closed(_sid, message) {
                clearTimeout(timer);
                idleClosed.add(prefixOf(message));
                resolve();
              },
            };
            const filter = { kinds: [1, 7], "#p": [crypto.randomUUID()], limit: 10 };
            socket.send(JSON.stringify(["REQ", "idle", filter]));
          }),
        );
      },
    });
    idle.push(...r.sockets);
    await Promise.all(eoses);
    const failed = new Tally();
    for (const f of r.failures) failed.add(reasonKey(f));
    idleReport = {
      requested: opts.idle,
      opened: idle.length,
      failed: failed.toJSON(),
      open_elapsed_ms: round2(r.elapsedMs),
      eose_received: idleEose.length,
      req_closed: idleClosed.toJSON(),
      eose_ms: idleEose.summary(),
    };
    if (idle.length < opts.idle) {
      ctx.timeouts.push(`abuse: ${opts.idle - idle.length} idle connections not opened`);
    }
    await sleep(SETTLE_MS);
    await phase("idle");

    log(`abuse: starting the spammer as ${SPAMMER_IP}`);
    spammer = new Spammer(opts.url, spamEvents, timeoutMs);
    spammer.start();
    // Past the first window's worth of accepted messages: the rate limit is refusing by now.
    await sleep(SETTLE_MS);
    await phase("idle_and_spam");
    await spammer.stop();
    const sp = spammer.report();
    log(
      `abuse: spammer sent ${(sp.sent as { total: number }).total}, accepted ` +
        `${sp.accepted_total}, refused ${sp.refused_total} (${sp.refused_rate_limited} ` +
        `rate-limited), disconnected: ${sp.disconnected}`,
    );
    idleReport.open_after_spam = idle.filter((s) => s.isOpen).length;
  } finally {
    if (spammer && !spammer.stoppedAt) await spammer.stop();
    log(`abuse: closing`);
    await normal.close();
    await closeAll(idle);
  }
  const p99s = Object.values(phases).map((p) =>
    (p as { eose_ms: { p99: number | null } }).eose_ms.p99 ?? 0
  );
  return {
    ips: { spammer: SPAMMER_IP, normal: NORMAL_IP, idle: `${idleIp(0)}..` },
    seeded,
    normal_client_filters: ["{kinds:[1], limit:20}", "{authors:[x], limit:10}"],
    normal_client_reconnects: normal.reconnects,
    phases,
    idle_connections: idleReport,
    spammer: spammer?.report() ?? null,
    worst_eose_p99_ms: p99s.length ? Math.max(...p99s) : null,
  };
}
