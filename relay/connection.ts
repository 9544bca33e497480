/**
 * One websocket client. The socket callbacks only parse and dispatch: EVENT, REQ and COUNT become
 * jobs, CLOSE is handled inline, replies from workers arrive through `reply()`. Every frame to the
 * client goes through `send()`, which counts bytes and closes a client that reads too slowly.
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
import { canonicalJson, isProtected, type NostrEvent } from "../lib/nostr/event.ts";
import { errorText, type Logger } from "../lib/log.ts";
import type { Redis } from "../lib/redis.ts";
import type { TrafficCounters } from "./counters.ts";
import { ConnectionSubscriptions, type SubsDeps } from "./connection_subs.ts";
import type { JobBatcher } from "./enqueue.ts";
import { type ClientMessage, okFrame, parseMessage } from "./messages.ts";
import { utf8Length } from "./text.ts";
import { CLOSE, sendableCode, sendableReason } from "./close_codes.ts";

/** Everything a connection shares with the rest of the web process. */
export interface ConnectionDeps extends SubsDeps {
  config: Config;
  log: Logger;
  keys: RedisKeys;
  redis: Redis;
  counters: TrafficCounters;
  jobs: SubsDeps["jobs"] & { event: JobBatcher<NewEventJob> };
  /** Open connections of this process by cid. */
  connections: Map<string, Connection>;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** One client connection, registered in `deps.connections` from its creation to its end. */
export class Connection {
  readonly log: Logger;
  /** Pubkeys authenticated on this connection (NIP-42; none until auth exists). */
  readonly authed: string[] = [];
  /** Time of the last client message (ms), for the idle timeout. */
  lastMessageAt: number;
  readonly subs: ConnectionSubscriptions;
  /** Resolves once the websocket itself has closed (the close handshake is over). */
  readonly socketClosed: Promise<void>;
  #closed = false;

  constructor(
    readonly socket: WebSocket,
    readonly cid: string,
    readonly ip: string,
    readonly deps: ConnectionDeps,
  ) {
    this.log = deps.log.child({ cid });
    this.lastMessageAt = Date.now();
    this.subs = new ConnectionSubscriptions(this, deps);
    deps.connections.set(cid, this);
    socket.onopen = () => this.#open();
    socket.onmessage = (ev: MessageEvent) => this.receive(ev.data);
    let socketClosed!: () => void;
    this.socketClosed = new Promise((resolve) => socketClosed = resolve);
    socket.onclose = (ev: CloseEvent) => {
      this.#terminate(`socket closed (${ev.code})`);
      socketClosed();
    };
    socket.onerror = (ev: Event) => {
      this.log.debug("websocket error", { error: (ev as ErrorEvent).message });
    };
  }

  /** True once the connection ended (frames are no longer sent). */
  get closed(): boolean {
    return this.#closed;
  }

  #open(): void {
    if (this.#closed) return;
    const { deps, cid } = this;
    deps.redis.pipeline()
      .sadd(deps.keys.connections, cid)
      .hset(deps.keys.connectionsIps, cid, this.ip)
      .hset(deps.keys.connectionsStarts, cid, Math.floor(Date.now() / 1000))
      .exec().catch((err: unknown) => {
        this.log.warn("Cannot record connection in Redis", { error: errorText(err) });
      });
    this.log.debug("connection opened", { ip: this.ip });
  }

  /** One frame from the client: count, parse, dispatch. */
  receive(data: string | ArrayBuffer | Blob): void {
    if (this.#closed) return;
    this.lastMessageAt = Date.now();
    const parsed = parseMessage(data, this.deps.config);
    this.deps.counters.received(this.cid, parsed.bytes);
    if (!parsed.ok) this.send(parsed.reply);
    else this.#dispatch(parsed.message);
  }

  #dispatch(msg: ClientMessage): void {
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
        return this.#auth(msg.event);
    }
  }

  #event(event: NostrEvent): void {
    if (isProtected(event) && !this.authed.includes(event.pubkey)) {
      this.send(okFrame(
        event.id,
        false,
        "auth-required: this event may only be published by its author",
      ));
      return;
    }
    const job = { cid: this.cid, authed: [...this.authed], event: canonicalJson(event) };
    this.deps.jobs.event.push(job).catch((err: unknown) => {
      this.log.warn("Cannot queue event", { id: event.id, error: errorText(err) });
      this.send(okFrame(event.id, false, "error: could not queue the event, try again"));
    });
  }

  /** NIP-42 AUTH. TODO(#3): verify the kind-22242 event and record the pubkey in `authed`. */
  #auth(event: Record<string, unknown>): void {
    const id = typeof event.id === "string" && HEX64.test(event.id) ? event.id : "";
    this.send(okFrame(id, false, "error: authentication is not enabled on this relay"));
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
      default:
        this.log.warn("Cannot handle reply: unknown op", { op: (header as { op: unknown }).op });
    }
  }

  /** Sends one frame; closes the connection when the client stops reading. */
  send(frame: string): void {
    if (this.#closed || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(frame);
    this.deps.counters.sent(this.cid, utf8Length(frame));
    if (this.socket.bufferedAmount > this.deps.config.maxOutgoingBytes) {
      this.log.info("closing slow reader", { buffered: this.socket.bufferedAmount });
      this.close(CLOSE.slow.code, CLOSE.slow.reason);
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
    deps.connections.delete(cid);
    deps.counters.forget(cid);
    const p = deps.redis.pipeline().srem(deps.keys.connections, cid);
    for (const hash of connectionHashes(deps.keys)) p.hdel(hash, cid);
    if (sids.length) p.hdel(deps.keys.subscriptions, ...sids.map((sid) => `${cid}:${sid}`));
    p.del(deps.keys.clientReqs(cid));
    p.exec().catch((err: unknown) => {
      this.log.warn("Cannot remove connection from Redis", { error: errorText(err) });
    });
    this.log.debug("connection ended", { why });
  }
}
