/**
 * The NewEvent processor: verifies and applies the rules to one event, stores it (or not), then
 * answers OK on the connection's channel and publishes an accepted event once on `live`.
 *
 * Idempotent: a re-run finds the event stored and answers `duplicate:` without publishing it
 * live again. Infrastructure failures answer `error:` within a bound and fail the job with
 * UnrecoverableError (the client was told to retry, so BullMQ must not retry as well).
 *
 * @module
 */
import { UnrecoverableError } from "bullmq";
import type { NewEventJob } from "../lib/contract.ts";
import { errorText } from "../lib/log.ts";
import { canonicalJson, kindClass, type NostrEvent, rawId } from "../lib/nostr/event.ts";
import {
  authedPubkeys,
  DeadlineError,
  type JobLike,
  type ProcessorDeps,
  unixNow,
  withDeadline,
} from "./deps.ts";
import { checkEvent, parseEventJson } from "./event_rules.ts";
import { moderationRefusal } from "./moderation.ts";
import { okReply } from "./replies.ts";
import { storeEvent, type StoreOutcome } from "./store_event.ts";

/** The shortest bound on storing one event, whatever QUERY_TIMEOUT_MS says. */
export const MIN_STORE_TIMEOUT_MS = 5000;

/** The OK message of each store outcome other than "stored". */
export const OUTCOME_MESSAGES: Record<Exclude<StoreOutcome, "stored">, string> = {
  deleted: "blocked: this event was deleted by its author",
  address_deleted: "blocked: a deletion request covers this address",
  duplicate: "duplicate: already have this event",
  superseded: "duplicate: a newer version of this event is stored",
};

/** The answer to a client whose event could not be stored because of an infrastructure fault. */
export const STORE_ERROR_MESSAGE = "error: could not store the event, try again";

/**
 * Processes one NewEvent job; returns the OK message sent ("" when accepted).
 * @throws {UnrecoverableError} when the event could not be stored (after answering `error:`)
 */
export async function newEvent(job: JobLike<NewEventJob>, deps: ProcessorDeps): Promise<string> {
  const { cid, authed, event: json } = job.data;
  const { redis, keys, config, log } = deps;
  const channel = keys.connectionChannel(cid);
  const parsed = parseEventJson(json);
  if (!parsed.ok) {
    const id = typeof json === "string" ? rawId(json) : "";
    if (!/^[0-9a-f]{64}$/.test(id)) {
      throw new UnrecoverableError(`Cannot process event: ${parsed.reason} (no id to answer)`);
    }
    await redis.publish(channel, okReply(id, false, parsed.reason));
    return parsed.reason;
  }
  const e = parsed.event;
  const now = unixNow(deps);
  const refused = checkEvent(e, { authed: authedPubkeys(authed), config, now }) ??
    await moderationRefusal(e, deps);
  if (refused) {
    await redis.publish(channel, okReply(e.id, false, refused));
    return refused;
  }
  const raw = canonicalJson(e);
  if (kindClass(e.kind) === "ephemeral") {
    await Promise.all([
      redis.publish(keys.liveChannel, raw),
      redis.publish(channel, okReply(e.id, true, "")),
    ]);
    return "";
  }
  const timeoutMs = deps.storeTimeoutMs ?? Math.max(config.queryTimeoutMs, MIN_STORE_TIMEOUT_MS);
  const opts = { raw, now, searchLanguage: config.searchLanguage, searchKinds: config.searchKinds };
  // With a batcher (the worker process), the event commits together with its neighbours.
  const store = deps.storeBatcher
    ? deps.storeBatcher.store(e, opts)
    : storeEvent(deps.sql, e, opts);
  let outcome: StoreOutcome;
  try {
    outcome = await withDeadline(store, timeoutMs, "store event");
  } catch (err) {
    if (err instanceof DeadlineError) publishWhenLate(store, e, raw, deps, cid);
    log.error("Cannot store event", { cid, id: e.id, kind: e.kind, error: errorText(err) });
    await redis.publish(channel, okReply(e.id, false, STORE_ERROR_MESSAGE));
    throw new UnrecoverableError(`Cannot store event ${e.id}: ${errorText(err)}`);
  }
  if (outcome !== "stored") {
    const message = OUTCOME_MESSAGES[outcome];
    await redis.publish(channel, okReply(e.id, false, message));
    return message;
  }
  await Promise.all([
    redis.publish(channel, okReply(e.id, true, "")),
    redis.publish(keys.liveChannel, raw),
  ]);
  return "";
}

/**
 * After a timeout the client was told to retry; if the store commits anyway the event is
 * stored, so live subscribers still get it once (its retry will be answered `duplicate:`).
 */
function publishWhenLate(
  store: Promise<StoreOutcome>,
  e: NostrEvent,
  raw: string,
  deps: ProcessorDeps,
  cid: string,
) {
  store.then(
    async function lateStore(outcome) {
      deps.log.warn("event stored after its deadline", { cid, id: e.id, outcome });
      if (outcome === "stored") await deps.redis.publish(deps.keys.liveChannel, raw);
    },
    function lateFailure() {
      // already answered and logged as a failure
    },
  ).catch(function lateLiveFailure(err) {
    deps.log.error("Cannot publish a late event", { cid, id: e.id, error: errorText(err) });
  });
}
