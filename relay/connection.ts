/**
 * One websocket client. Its life: admission (hot limits, read while the handshake completes),
 * fast auth, registration in Redis and the NIP-42 challenge; then each frame is parsed, passed
 * through the rate limit and the gatekeeping policies, and dispatched: EVENT, REQ, COUNT and
 * AUTH become jobs, CLOSE is handled inline, replies from workers arrive through `reply()`.
 * Frames are handled strictly in arrival order (see `Inbox`). Every frame to the client goes
 * through `send()`, which counts bytes and closes a client that reads too slowly.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import {
  connectionHashes,
  decodeReply,
  type NewEventJob,
  type RedisKeys,
} from "../lib/contract.ts";
import { canonicalJson, type NostrEvent } from "../lib/nostr/event.ts";
import { errorText, type Logger } from "../lib/log.ts";
import type { Redis } from "../lib/redis.ts";
import { type AuthDeps, ConnectionAuth } from "./auth.ts";
import type { TrafficCounters } from "./counters.ts";
import { ConnectionSubscriptions, type SubsDeps } from "./connection_subs.ts";
import type { JobBatcher } from "./enqueue.ts";
import { Inbox } from "./inbox.ts";
import { type ClientMessage, okFrame, parseMessage, type ParseResult } from "./messages.ts";
import {
  ACCEPT,
  belowForcedLevel,
  type CloseVerdict,
  type CommandPolicy,
  type FastAuth,
  fastAuthAtConnect,
  firstRefusal,
  type RateLimiter,
  refusalFrame,
  type Verdict,
} from "./policies/mod.ts";
import { utf8Length } from "./text.ts";
import { CLOSE, sendableCode, sendableReason } from "./close_codes.ts";
import type { WebMetrics } from "./metrics.ts";

/** The outcome of admission: refused with a close, or admitted (maybe without rate limit). */
export interface Admission {
  refusal?: CloseVerdict;
  /** The IP is in `unlimited_ips`. */
  unlimited: boolean;
}

/** Everything a connection shares with the rest of the web process. */
export interface ConnectionDeps extends SubsDeps, AuthDeps {
  config: Config;
  log: Logger;
  keys: RedisKeys;
  redis: Redis;
  counters: TrafficCounters;
  jobs: SubsDeps["jobs"] & AuthDeps["jobs"] & { event: JobBatcher<NewEventJob> };
  /** Open connections of this process by cid. */
  connections: Map<string, Connection>;
  /** Decides whether a new connection from `ip` may open (hot limits in Redis). */
  admit(ip: string): Promise<Admission>;
  /** The per-IP rate limit; undefined when disabled (RATE_LIMITING_MAX_REQUESTS=0). */
  rateLimit?: RateLimiter;
  /** Message rules applied before dispatch (`defaultPolicies`). */
  policies: readonly CommandPolicy[];
  /** True while the process drains for shutdown: new EVENT, REQ and COUNT are refused. */
  draining?(): boolean;
  /** Counters and latencies for `/metrics`. */
  metrics?: WebMetrics;
}

/** Refusal of a message that would exceed the connection's inbox. */
export const TOO_MANY_WAITING =
  "rate-limited: too many messages waiting on this connection, wait for answers";

/** Refusal of EVENT, REQ and COUNT while the web process drains for shutdown. */
export const SHUTTING_DOWN = "error: relay is shutting down, reconnect";

/**
 * The socket's handlers, made outside the class so that their closures hold the connection only.
 * No error listener: an error is followed by close, which is handled.
 */
function listen(socket: WebSocket, conn: Connection): void {
  socket.onmessage = (ev: MessageEvent) => conn.receive(ev.data);
  socket.onclose = (ev: CloseEvent) => conn.socketEnded(ev.code);
}

function inboxFailed(this: Connection, err: unknown): void {
  this.log.error("Cannot handle message", { error: errorText(err) });
}

/** One client connection, registered in `deps.connections` from its creation to its end. */
export class Connection {
  #log: Logger | undefined;
  /** Time of the last client message (ms), for the idle timeout. */
  lastMessageAt: number;
  readonly subs: ConnectionSubscriptions;
  readonly auth: ConnectionAuth;
  #closed = false;
  /** The websocket itself has closed; waiters of `socketClosed` (created on demand). */
  #socketDone = false;
  #socketWaiters: (() => void)[] | undefined;
  /** Admission and (forced) fast auth are over: messages may be handled. */
  #started = false;
  /** Recorded in Redis (only then is there state to remove). */
  #registered = false;
  /** Messages of this connection are rate-limited. */
  #limited = false;
  /** EVENTs queued and not yet answered: id → receipt time (performance.now()); lazy. */
  #unanswered: Map<string, number> | undefined;
  /** Waiters of `drained()`. */
  #drainWaiters: (() => void)[] | undefined;
  /** Connect time (unix s), as recorded in `connections_starts`. */
  readonly startedAt = Math.floor(Date.now() / 1000);
  /** Admission and start, until they are over (then dropped). */
  #starting: Promise<void> | undefined;
  readonly #inbox: Inbox;

  constructor(
    readonly socket: WebSocket,
    readonly cid: string,
    readonly ip: string,
    readonly deps: ConnectionDeps,
    readonly fastAuth: FastAuth = { kind: "none" },
  ) {
    this.lastMessageAt = Date.now();
    this.subs = new ConnectionSubscriptions(this, deps);
    this.auth = new ConnectionAuth(this, deps);
    this.#inbox = new Inbox(this.#inboxFailed);
    deps.connections.set(cid, this);
    this.#begin();
    listen(socket, this);
  }

  /** Reports a message that could not be handled (one shared function, not one per connection). */
  #inboxFailed = inboxFailed.bind(this);

  /**
   * Starts the connection: admission is read while the handshake completes, and messages wait
   * for both. In a method of its own so that the socket handlers' closures do not keep its
   * promises alive for the life of the connection.
   */
  #begin(): void {
    let opened!: () => void;
    const open = new Promise<void>((resolve) => opened = resolve);
    const socket = this.socket;
    socket.onopen = () => {
      socket.onopen = null;
      opened();
    };
    const started = Promise.all([this.deps.admit(this.ip), open]).then(([a]) => this.#start(a))
      .catch((err: unknown) => {
        this.log.error("Cannot start connection", { error: errorText(err) });
        this.close(1011, "error: could not start the connection");
      });
    this.#starting = started;
    this.#inbox.push(started, 0, () => {
      this.#started = true;
      this.#starting = undefined;
    });
  }

  /** The websocket closed (either side). */
  socketEnded(code: number): void {
    this.#terminate(`socket closed (${code})`);
    this.#socketDone = true;
    const waiters = this.#socketWaiters;
    this.#socketWaiters = undefined;
    for (const w of waiters ?? []) w();
  }

  /** This connection's logger (its lines carry the cid), created on first use. */
  get log(): Logger {
    return this.#log ??= this.deps.log.child({ cid: this.cid });
  }

  /** Resolves once the websocket itself has closed (the close handshake is over). */
  get socketClosed(): Promise<void> {
    if (this.#socketDone) return Promise.resolve();
    return new Promise((resolve) => (this.#socketWaiters ??= []).push(resolve));
  }

  /** True once the connection ended (frames are no longer sent). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Pubkeys authenticated on this connection. */
  get authed(): readonly string[] {
    return this.auth.authed;
  }

  /** The connection's auth level (the highest of its pubkeys). */
  get level(): number {
    return this.auth.level;
  }

  /**
   * Resolves once the connection may handle messages (or has closed trying), after the
   * messages that arrived meanwhile were handled.
   */
  get ready(): Promise<void> {
    return this.#inbox.settled();
  }

  /** Admitted or not; then fast auth, registration, challenge; with forced auth, the level. */
  async #start(admission: Admission): Promise<void> {
    if (this.#closed) return;
    const { config } = this.deps;
    const refusal = admission.refusal ??
      fastAuthAtConnect(this.fastAuth, config.forcedMinAuthLevel);
    if (refusal) {
      this.deps.log.debug("connection refused", {
        cid: this.cid,
        ip: this.ip,
        reason: refusal.reason,
      });
      this.close(refusal.code, refusal.reason);
      return;
    }
    this.#limited = this.deps.rateLimit !== undefined && !admission.unlimited;
    this.#register();
    const forced = config.forcedMinAuthLevel;
    if (forced === 0) this.send(JSON.stringify(["AUTH", this.auth.challenge]));
    if (this.fastAuth.kind !== "valid") return;
    const level = this.auth.fast(this.fastAuth.event);
    if (forced === 0) return;
    // forced: hold every message until the level is known
    if ((await level) < forced && !this.#closed) {
      const below = belowForcedLevel(forced);
      this.close(below.code, below.reason);
    }
  }

  #register(): void {
    const { deps, cid } = this;
    this.#registered = true;
    // plain commands: a pipeline on the connection BullMQ shares is costly (connection_subs.ts)
    Promise.all([
      deps.redis.sadd(deps.keys.connections, cid),
      deps.redis.hset(deps.keys.connectionsIps, cid, this.ip),
      deps.redis.hset(deps.keys.connectionsStarts, cid, this.startedAt),
    ]).catch((err: unknown) => {
      this.log.warn("Cannot record connection in Redis", { error: errorText(err) });
    });
    this.deps.log.debug("connection opened", { cid, ip: this.ip });
  }

  /**
   * One frame from the client: count, parse, then rate limit and policies, in arrival order.
   * Without a rate limit and with nothing waiting, it is handled synchronously.
   */
  receive(data: string | ArrayBuffer | Blob): void {
    if (this.#closed) return;
    this.lastMessageAt = Date.now();
    const parsed = parseMessage(data, this.deps.config);
    this.deps.counters.received(this.cid, parsed.bytes);
    this.deps.metrics?.message(parsed.ok ? parsed.message.type : "invalid", parsed.bytes);
    if (this.#inbox.idle && !this.#limited) {
      this.#handle(parsed, ACCEPT);
      return;
    }
    if (!this.#inbox.fits(parsed.bytes)) {
      // answered ahead of the waiting messages, so it must not touch any state
      this.send(refusalFrame(parsed.ok ? parsed.message : undefined, TOO_MANY_WAITING));
      return;
    }
    const starting = this.#starting;
    const check = this.#started || !starting
      ? this.#rateCheck()
      : starting.then(() => this.#rateCheck());
    this.#inbox.push(check, parsed.bytes, (verdict) => this.#handle(parsed, verdict));
  }

  #rateCheck(): Promise<Verdict> {
    return this.#limited ? this.deps.rateLimit!(this.ip) : Promise.resolve(ACCEPT);
  }

  #handle(parsed: ParseResult, rate: Verdict): void {
    if (this.#closed) return;
    if (!rate.ok) this.#refuse(parsed.ok ? parsed.message : undefined, rate.reason);
    else if (!parsed.ok) this.send(parsed.reply);
    else this.#dispatch(parsed.message);
  }

  /** Answers `msg` with a refusal; a refused REQ also ends an open subscription of its id. */
  #refuse(msg: ClientMessage | undefined, reason: string): void {
    if (msg?.type === "REQ") this.subs.close(msg.sid);
    this.send(refusalFrame(msg, reason));
  }

  #dispatch(msg: ClientMessage): void {
    if (
      this.deps.draining?.() && (msg.type === "EVENT" || msg.type === "REQ" || msg.type === "COUNT")
    ) {
      this.#refuse(msg, SHUTTING_DOWN);
      return;
    }
    const verdict = firstRefusal(this.deps.policies, msg, this.auth);
    if (!verdict.ok) {
      this.#refuse(msg, verdict.reason);
      return;
    }
    switch (msg.type) {
      case "EVENT":
        return this.#event(msg.event);
      case "REQ":
        return this.subs.req(msg.sid, msg.filters);
      case "CLOSE":
        return this.subs.close(msg.sid);
      case "COUNT":
        return this.subs.count(msg.sid, msg.filters);
      case "AUTH":
        return this.auth.command(msg.event);
    }
  }

  #event(event: NostrEvent): void {
    (this.#unanswered ??= new Map()).set(event.id, performance.now());
    const job = { cid: this.cid, authed: [...this.authed], event: canonicalJson(event) };
    this.deps.jobs.event.push(job).catch((err: unknown) => {
      this.log.warn("Cannot queue event", { id: event.id, error: errorText(err) });
      this.send(okFrame(event.id, false, "error: could not queue the event, try again"));
    });
  }

  /**
   * The level changed (an `auth` or `level` reply). Below the forced minimum the connection is
   * closed; when it dropped, open subscriptions the new level no longer allows are closed.
   */
  levelChanged(previous: number): void {
    const forced = this.deps.config.forcedMinAuthLevel;
    if (forced > 0 && this.level < forced) {
      const below = belowForcedLevel(forced);
      this.close(below.code, below.reason);
      return;
    }
    if (this.level >= previous) return;
    this.subs.recheck((sid, filters) =>
      firstRefusal(this.deps.policies, { type: "REQ", sid, filters }, this.auth)
    );
  }

  /** A reply published on this connection's channel by a worker (or an admin). */
  reply(message: string): void {
    if (this.#closed) return;
    let decoded: ReturnType<typeof decodeReply>;
    try {
      decoded = decodeReply(message);
    } catch (err) {
      this.log.warn("Cannot decode reply", { error: errorText(err) });
      return;
    }
    const { header, lines } = decoded;
    switch (header.op) {
      case "send":
        for (const line of lines) this.send(line);
        return;
      case "events":
      case "closed":
        return this.subs.reply(header, lines);
      case "close":
        return this.close(header.code, header.reason);
      case "auth":
        return this.auth.authorized(header);
      case "level":
        return this.auth.levelOf(header.pubkey, header.level);
      default:
        this.log.warn("Cannot handle reply: unknown op", { op: (header as { op: unknown }).op });
    }
  }

  /** Sends one frame; closes the connection when the client stops reading. */
  send(frame: string): void {
    if (this.#closed || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(frame);
    const bytes = utf8Length(frame);
    this.deps.counters.sent(this.cid, bytes);
    this.deps.metrics?.sent(frame, bytes);
    if (this.#unanswered?.size && frame.startsWith('["OK","')) this.#okSent(frame.slice(7, 71));
    if (this.socket.bufferedAmount > this.deps.config.maxOutgoingBytes) {
      this.log.info("closing slow reader", { buffered: this.socket.bufferedAmount });
      this.close(CLOSE.slow.code, CLOSE.slow.reason);
    }
  }

  /** The OK of EVENT `id` was sent: its latency, and the end of a drain. */
  #okSent(id: string): void {
    const at = this.#unanswered!.get(id);
    if (at === undefined) return;
    this.#unanswered!.delete(id);
    this.deps.metrics?.eventAnswered((performance.now() - at) / 1000);
    if (this.#unanswered!.size) return;
    this.#unanswered = undefined; // an idle connection holds no map
    this.#drainDone();
  }

  /** Resolves once every EVENT queued so far was answered with its OK (or the connection ended). */
  drained(): Promise<void> {
    if (this.#closed || !this.#unanswered?.size) return Promise.resolve();
    return new Promise((resolve) => (this.#drainWaiters ??= []).push(resolve));
  }

  /** EVENTs awaiting their OK. */
  get unanswered(): number {
    return this.#unanswered?.size ?? 0;
  }

  #drainDone(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = undefined;
    for (const w of waiters ?? []) w();
  }

  /**
   * Adds to `p` this connection's Redis state (after Redis lost it): `connections`, its IP and
   * start, its authentication and level with its place in `pubkey_connections:<pk>`, its
   * subscriptions in `client_reqs:<cid>` and `subscriptions`.
   */
  recordAgain(p: ReturnType<Redis["pipeline"]>): void {
    if (this.#closed || !this.#registered) return;
    const { keys } = this.deps;
    const cid = this.cid;
    p.sadd(keys.connections, cid)
      .hset(keys.connectionsIps, cid, this.ip)
      .hset(keys.connectionsStarts, cid, this.startedAt);
    const authed = this.authed;
    if (authed.length) {
      p.hset(keys.authentications, cid, authed[authed.length - 1]!)
        .hset(keys.authorizations, cid, this.level);
      for (const pubkey of authed) p.sadd(keys.pubkeyConnections(pubkey), cid);
    }
    for (const [sid, filters] of this.subs.open()) {
      p.sadd(keys.clientReqs(cid), sid).hset(
        keys.subscriptions,
        `${cid}:${sid}`,
        JSON.stringify(filters),
      );
    }
  }

  /** Periodic check (every second): idle timeout and subscription housekeeping. */
  tick(now: number): void {
    const idle = this.deps.config.idleTimeoutSeconds;
    if (idle > 0 && now - this.lastMessageAt > idle * 1000) {
      this.close(CLOSE.idle.code, CLOSE.idle.reason);
      return;
    }
    this.subs.tick(now);
  }

  /** Closes the websocket and removes the connection's state at once. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#terminate(`closed by relay (${code} ${reason})`);
    try {
      this.socket.close(sendableCode(code), sendableReason(reason));
    } catch (err) {
      this.log.debug("Cannot close websocket", { error: errorText(err) });
    }
  }

  /** Removes the connection from the live index, the registry and Redis (once). */
  #terminate(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    const { deps, cid } = this;
    const sids = this.subs.detachAll();
    this.auth.dispose();
    this.#drainDone();
    deps.connections.delete(cid);
    deps.counters.forget(cid);
    deps.log.debug("connection ended", { cid, why });
    if (!this.#registered) return;
    const p = deps.redis.pipeline().srem(deps.keys.connections, cid);
    for (const hash of connectionHashes(deps.keys)) p.hdel(hash, cid);
    if (sids.length) p.hdel(deps.keys.subscriptions, ...sids.map((sid) => `${cid}:${sid}`));
    p.del(deps.keys.clientReqs(cid));
    this.auth.cleanup(p);
    p.exec().catch((err: unknown) => {
      this.log.warn("Cannot remove connection from Redis", { error: errorText(err) });
    });
  }
}
