/**
 * The subscriptions of one connection: REQ (with replacement by generation), CLOSE, COUNT, the
 * worker's `events`/`closed` replies, and the Redis records of each subscription
 * (`client_reqs:<cid>`, `subscriptions`).
 *
 * @module
 */
import type {
  CountRequestJob,
  NewSubscriptionJob,
  RedisKeys,
  ReplyHeader,
} from "../lib/contract.ts";
import type { Filter } from "../lib/nostr/filter.ts";
import { errorText, type Logger } from "../lib/log.ts";
import type { Redis } from "../lib/redis.ts";
import type { JobBatcher } from "./enqueue.ts";
import { closedFrame } from "./messages.ts";
import type { Verdict } from "./policies/mod.ts";
import { type StreamOwner, SubStream } from "./sub_stream.ts";
import type { SubscriptionIndex } from "./subscriptions.ts";

/** What the subscriptions of a connection need from the web process. */
export interface SubsDeps {
  maxSubscriptions: number;
  keys: RedisKeys;
  /**
   * Plain commands, not `pipeline()`: on the connection BullMQ shares, every pipeline copies
   * BullMQ's 64 script definitions, which made these two writes a third of the web process's CPU
   * per REQ (measured: 0.066 ms instead of 0.098 ms per REQ).
   */
  redis: Pick<Redis, "sadd" | "hset" | "srem" | "hdel">;
  index: SubscriptionIndex<SubStream>;
  jobs: { req: JobBatcher<NewSubscriptionJob>; count: JobBatcher<CountRequestJob> };
}

/** The connection, as its subscriptions see it. */
export interface SubsConnection {
  readonly cid: string;
  readonly authed: readonly string[];
  readonly log: Logger;
  send(frame: string): void;
}

/** The open subscriptions of one connection. */
export class ConnectionSubscriptions implements StreamOwner {
  #streams = new Map<string, SubStream>();
  #graced: SubStream[] = [];
  #gen = 0;

  constructor(readonly conn: SubsConnection, readonly deps: SubsDeps) {}

  /** Number of open subscriptions. */
  get size(): number {
    return this.#streams.size;
  }

  /** Pubkeys authenticated on the connection (live DM privacy). */
  get authed(): readonly string[] {
    return this.conn.authed;
  }

  /** Forwards a frame of one of the streams to the client. */
  send(frame: string): void {
    this.conn.send(frame);
  }

  /** A stream's live buffer overflowed while loading: drop it and tell the client. */
  overflow(stream: SubStream): void {
    if (!this.#drop(stream.sid, stream)) return;
    this.conn.send(
      closedFrame(stream.sid, "error: too many live events while loading, subscribe again"),
    );
  }

  /** REQ: opens (or replaces) a subscription, then asks a worker for its stored events. */
  req(sid: string, filters: Filter[]): void {
    const { conn, deps } = this;
    const previous = this.#streams.get(sid);
    if (previous) {
      previous.closed = true;
      deps.index.remove(previous);
    } else if (this.#streams.size >= deps.maxSubscriptions) {
      conn.send(closedFrame(
        sid,
        `error: too many open subscriptions, the maximum is ${deps.maxSubscriptions}`,
      ));
      return;
    }
    // Generations are unique per connection, so a reply for an earlier REQ with the same sid
    // (replaced, or closed and re-opened) never matches the current one.
    const gen = ++this.#gen;
    const stream = new SubStream(sid, gen, filters, this);
    this.#streams.set(sid, stream);
    deps.index.add(stream);
    Promise.all([
      deps.redis.sadd(deps.keys.clientReqs(conn.cid), sid),
      deps.redis.hset(deps.keys.subscriptions, `${conn.cid}:${sid}`, JSON.stringify(filters)),
    ]).catch(function stateFailed(err: unknown) {
      conn.log.warn("Cannot record subscription in Redis", { sid, error: errorText(err) });
    });
    if (filters.every((f) => f.limit === 0)) {
      this.#eose(stream, []);
      return;
    }
    const job = { cid: conn.cid, authed: [...conn.authed], sid, gen, filters };
    deps.jobs.req.push(job).catch((err: unknown) => {
      conn.log.warn("Cannot queue subscription", { sid, error: errorText(err) });
      if (this.#drop(sid, stream)) {
        conn.send(closedFrame(sid, "error: could not queue the subscription, try again"));
      }
    });
  }

  /** CLOSE: ends a subscription without a reply; unknown ids are ignored. */
  close(sid: string): void {
    this.#drop(sid);
  }

  /** COUNT: asks a worker; the answer comes back as a `send` reply. */
  count(sid: string, filters: Filter[]): void {
    const { conn } = this;
    const job = { cid: conn.cid, authed: [...conn.authed], sid, filters };
    this.deps.jobs.count.push(job).catch(function countFailed(err: unknown) {
      conn.log.warn("Cannot queue count", { sid, error: errorText(err) });
      conn.send(closedFrame(sid, "error: could not queue the count, try again"));
    });
  }

  /** A worker reply about a subscription; replies of another generation are dropped. */
  reply(header: Extract<ReplyHeader, { op: "events" | "closed" }>, lines: string[]): void {
    const stream = this.#streams.get(header.sid);
    if (!stream || stream.gen !== header.gen) return;
    if (header.op === "closed") {
      this.#drop(header.sid, stream);
      this.conn.send(closedFrame(header.sid, header.reason));
      return;
    }
    if (header.eose) this.#eose(stream, lines);
    else stream.stored(lines, false);
  }

  /**
   * Re-applies `check` to every open subscription (the connection's level dropped): those now
   * refused end with CLOSED and the refusal's reason.
   */
  recheck(check: (sid: string, filters: Filter[]) => Verdict): void {
    for (const stream of [...this.#streams.values()]) {
      const verdict = check(stream.sid, [...stream.filters]);
      if (verdict.ok || !this.#drop(stream.sid, stream)) continue;
      this.conn.send(closedFrame(stream.sid, verdict.reason));
    }
  }

  /** Forgets stored ids whose grace period is over. */
  tick(now: number): void {
    if (this.#graced.length) this.#graced = this.#graced.filter((s) => !s.expire(now));
  }

  /** The open subscriptions, id and filters (to record them in Redis again). */
  *open(): Generator<[string, readonly Filter[]]> {
    for (const stream of this.#streams.values()) yield [stream.sid, stream.filters];
  }

  /** Removes every subscription from the live index; returns their ids (for Redis cleanup). */
  detachAll(): string[] {
    const sids = [...this.#streams.keys()];
    for (const stream of this.#streams.values()) {
      stream.closed = true;
      this.deps.index.remove(stream);
    }
    this.#streams.clear();
    this.#graced = [];
    return sids;
  }

  #eose(stream: SubStream, lines: string[]): void {
    stream.stored(lines, true);
    if (!stream.closed) this.#graced.push(stream);
  }

  /** Removes `sid` (only if it is still `expected`) from memory and Redis. */
  #drop(sid: string, expected?: SubStream): boolean {
    const stream = this.#streams.get(sid);
    if (!stream || (expected && stream !== expected)) return false;
    stream.closed = true;
    this.#streams.delete(sid);
    this.deps.index.remove(stream);
    const { conn, deps } = this;
    Promise.all([
      deps.redis.srem(deps.keys.clientReqs(conn.cid), sid),
      deps.redis.hdel(deps.keys.subscriptions, `${conn.cid}:${sid}`),
    ]).catch(function stateFailed(err: unknown) {
      conn.log.warn("Cannot remove subscription from Redis", { sid, error: errorText(err) });
    });
    return true;
  }
}
