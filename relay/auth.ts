/**
 * The authentication state of one connection: its NIP-42 challenge, the pubkeys it
 * authenticated with their levels, the Authorize jobs waiting for their `auth` reply, level
 * changes (`level` replies), and the Redis records of all of it (`authentications`,
 * `authorizations`, `connections_authenticators`, `pubkey_connections:<pubkey>`,
 * `events22242:<id>`).
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import {
  type AuthorizeJob,
  encodeReply,
  LEVELS,
  type RedisKeys,
  type ReplyHeader,
} from "../lib/contract.ts";
import { canonicalJson, type NostrEvent } from "../lib/nostr/event.ts";
import { errorText, type Logger } from "../lib/log.ts";
import type { Redis } from "../lib/redis.ts";
import type { JobBatcher } from "./enqueue.ts";
import { okFrame } from "./messages.ts";
import {
  checkAuthEvent,
  type CloseVerdict,
  fastAuthErrors,
  type PolicyConnection,
  pubkeyChange,
  usedTwice,
} from "./policies/mod.ts";
import { randomHex } from "./runtime.ts";

/** What authentication needs from the web process. */
export interface AuthDeps {
  config: Pick<
    Config,
    | "relayUrl"
    | "authWindowSeconds"
    | "fastAuthWindowSeconds"
    | "restrictChangeAuthPubkey"
    | "authorizationTimeoutSeconds"
    | "maxEventTags"
    | "maxContentLength"
  >;
  keys: RedisKeys;
  redis: Pick<Redis, "pipeline" | "set" | "publish">;
  jobs: { auth: JobBatcher<AuthorizeJob> };
}

/** The connection, as its authentication sees it. */
export interface AuthOwner {
  readonly cid: string;
  readonly log: Logger;
  send(frame: string): void;
  close(code: number, reason: string): void;
  /** The connection's level changed from `previous` to the current one. */
  levelChanged(previous: number): void;
}

type AuthReply = Extract<ReplyHeader, { op: "auth" }>;

interface Pending {
  pubkey: string;
  /** Fast auth (no OK is sent; a refusal closes the connection). */
  fast: boolean;
  /** Resolves the level a fast auth obtained (0 when refused or timed out). */
  settle?(level: number): void;
}

const CANNOT_CHECK: CloseVerdict = {
  code: 1011,
  reason: "error: could not check the fast auth event, try again",
};
const NONE: readonly string[] = Object.freeze([]);
const CANNOT_QUEUE = "error: could not queue the authentication, try again";

function clampLevel(level: unknown): number {
  const n = Number(level);
  if (!Number.isInteger(n)) return LEVELS.anonymous;
  return Math.min(Math.max(n, LEVELS.anonymous), LEVELS.trusted);
}

/** One connection's authentication. Its `authed` and `level` are what the policies see. */
export class ConnectionAuth implements PolicyConnection {
  /** The NIP-42 challenge of this connection: random, unrelated to the cid. */
  readonly challenge: string = randomHex(32);
  /** Authenticated pubkeys, in the order they authenticated. */
  // Allocated on first use: most connections never authenticate (memory per idle connection).
  #authed: string[] | undefined;
  #levels: Map<string, number> | undefined;
  #level = 0;
  #pending: Map<string, Pending> | undefined;
  /** Kind-22242 event ids whose `events22242:<id>` key this connection set. */
  #owned: string[] | undefined;
  #timers: Set<ReturnType<typeof setTimeout>> | undefined;

  constructor(readonly owner: AuthOwner, readonly deps: AuthDeps) {}

  /** Authenticated pubkeys, in the order they authenticated. */
  get authed(): readonly string[] {
    return this.#authed ?? NONE;
  }

  /** The connection's level: the highest level of its pubkeys, 0 when anonymous. */
  get level(): number {
    return this.#level;
  }

  /** `["AUTH", <event>]`: checks it, then asks a worker for its signature and level. */
  command(value: Record<string, unknown>, now = Date.now()): void {
    const { config } = this.deps;
    const check = checkAuthEvent(value, {
      challenge: this.challenge,
      relayUrl: config.relayUrl,
      windowSeconds: config.authWindowSeconds,
      now: Math.floor(now / 1000),
      limits: config,
    });
    if (!check.ok) {
      this.owner.send(okFrame(check.id, false, check.reason));
      return;
    }
    const event = check.event;
    const change = pubkeyChange(event.pubkey, this.authed, config.restrictChangeAuthPubkey);
    if (!change.ok) {
      this.owner.send(okFrame(event.id, false, change.reason));
      return;
    }
    if (this.#pending?.has(event.id)) return; // the same AUTH twice: one answer
    this.#authorize(event, { pubkey: event.pubkey, fast: false });
  }

  /**
   * Fast auth with a checked `?authorization=` event: claims it once (`SET NX`), asks a worker
   * for its signature and level, and resolves with the level once known (0 when refused, or
   * after AUTHORIZATION_TIMEOUT). A replayed event closes this connection and the one that used
   * it first; an invalid signature closes this one.
   */
  async fast(event: NostrEvent): Promise<number> {
    const { deps, owner } = this;
    const key = deps.keys.events22242(event.id);
    let previous: string | null;
    try {
      previous = await deps.redis.set(
        key,
        owner.cid,
        "EX",
        deps.config.fastAuthWindowSeconds,
        "NX",
        "GET",
      );
    } catch (err) {
      owner.log.warn("Cannot claim fast auth event", { id: event.id, error: errorText(err) });
      owner.close(CANNOT_CHECK.code, CANNOT_CHECK.reason);
      return LEVELS.anonymous;
    }
    if (previous !== null) {
      const replay = usedTwice(event.id);
      if (previous !== "") {
        const message = encodeReply({ op: "close", code: replay.code, reason: replay.reason });
        await deps.redis.publish(deps.keys.connectionChannel(previous), message).catch(
          (err: unknown) => {
            owner.log.warn("Cannot close the first user of a replayed auth event", {
              other: previous,
              error: errorText(err),
            });
          },
        );
      }
      owner.log.info("fast auth event replayed", { id: event.id, first: previous || undefined });
      owner.close(replay.code, replay.reason);
      return LEVELS.anonymous;
    }
    (this.#owned ??= []).push(event.id);
    const timers = this.#timers ??= new Set();
    return await new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve(LEVELS.anonymous);
      }, deps.config.authorizationTimeoutSeconds * 1000);
      timers.add(timer);
      const settle = (level: number) => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(level);
      };
      this.#authorize(event, { pubkey: event.pubkey, fast: true, settle });
    });
  }

  #authorize(event: NostrEvent, pending: Pending): void {
    const { owner } = this;
    (this.#pending ??= new Map()).set(event.id, pending);
    const job: AuthorizeJob = { cid: owner.cid, event: canonicalJson(event) };
    this.deps.jobs.auth.push(job).catch((err: unknown) => {
      owner.log.warn("Cannot queue authorization", { id: event.id, error: errorText(err) });
      if (!this.#pending?.delete(event.id)) return;
      if (pending.fast) owner.close(1011, CANNOT_QUEUE);
      else owner.send(okFrame(event.id, false, CANNOT_QUEUE));
      pending.settle?.(LEVELS.anonymous);
    });
  }

  /** The worker's answer to an Authorize job of this connection. */
  authorized(reply: AuthReply): void {
    const { owner, deps } = this;
    const pending = this.#pending?.get(reply.eventId);
    if (!pending) {
      owner.log.debug("auth reply for no pending authorization", { id: reply.eventId });
      return;
    }
    this.#pending!.delete(reply.eventId);
    if (!reply.ok) {
      if (pending.fast) {
        const close = fastAuthErrors(reply.reason.replace(/^[a-z-]+: /, ""));
        owner.close(close.code, close.reason);
      } else {
        owner.send(okFrame(reply.eventId, false, reply.reason));
      }
      pending.settle?.(LEVELS.anonymous);
      return;
    }
    const { pubkey } = pending;
    if (!pending.fast) {
      // another AUTH may have completed while this one was with the worker
      const change = pubkeyChange(pubkey, this.authed, deps.config.restrictChangeAuthPubkey);
      if (!change.ok) {
        owner.send(okFrame(reply.eventId, false, change.reason));
        return;
      }
    }
    const level = clampLevel(reply.level);
    const previous = this.#level;
    const authed = this.#authed ??= [];
    if (!authed.includes(pubkey)) authed.push(pubkey);
    (this.#levels ??= new Map()).set(pubkey, level);
    this.#recompute();
    const { keys } = deps;
    const p = deps.redis.pipeline()
      .hset(keys.authentications, owner.cid, pubkey)
      .hset(keys.authorizations, owner.cid, this.#level)
      .hset(keys.connectionsAuthenticators, owner.cid, reply.eventId)
      .sadd(keys.pubkeyConnections(pubkey), owner.cid);
    if (!pending.fast) {
      // NIP-42 events are remembered too: one cannot be replayed as a fast-auth token
      p.set(keys.events22242(reply.eventId), owner.cid, "EX", deps.config.fastAuthWindowSeconds);
      (this.#owned ??= []).push(reply.eventId);
    }
    p.exec().catch((err: unknown) => {
      owner.log.warn("Cannot record authentication in Redis", { error: errorText(err) });
    }).finally(() => {
      if (!pending.fast) owner.send(okFrame(reply.eventId, true, ""));
    });
    owner.log.debug("authenticated", { pubkey, level, fast: pending.fast });
    pending.settle?.(level);
    if (this.#level !== previous) owner.levelChanged(previous);
  }

  /** A `level` reply: the level of an authenticated pubkey changed. */
  levelOf(pubkey: string, level: number): void {
    if (!this.#levels?.has(pubkey)) return;
    const previous = this.#level;
    this.#levels!.set(pubkey, clampLevel(level));
    this.#recompute();
    if (this.#level === previous) return;
    const { owner, deps } = this;
    deps.redis.pipeline().hset(deps.keys.authorizations, owner.cid, this.#level).exec().catch(
      (err: unknown) => {
        owner.log.warn("Cannot record level in Redis", { error: errorText(err) });
      },
    );
    owner.log.debug("level changed", { pubkey, from: previous, to: this.#level });
    owner.levelChanged(previous);
  }

  #recompute(): void {
    let max: number = LEVELS.anonymous;
    for (const level of this.#levels?.values() ?? []) if (level > max) max = level;
    this.#level = max;
  }

  /** Adds the removal of this connection's auth records to the closing pipeline. */
  cleanup(p: ReturnType<Redis["pipeline"]>): void {
    const { keys } = this.deps;
    for (const pubkey of this.authed) p.srem(keys.pubkeyConnections(pubkey), this.owner.cid);
    // "used, connection gone" until the window ends; XX: never re-create an expired key
    for (const id of this.#owned ?? []) p.set(keys.events22242(id), "", "KEEPTTL", "XX");
  }

  /** Stops the timers and settles pending fast auths (the connection ended). */
  dispose(): void {
    for (const timer of this.#timers ?? []) clearTimeout(timer);
    this.#timers?.clear();
    for (const pending of this.#pending?.values() ?? []) pending.settle?.(LEVELS.anonymous);
    this.#pending?.clear();
  }
}
