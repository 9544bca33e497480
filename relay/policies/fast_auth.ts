/**
 * Fast auth (the original's "NIP-43", the closed nips PR #571; never advertised as 43, a number
 * that now names another NIP): a signed kind-22242 event, percent-encoded JSON, in the
 * `?authorization=` parameter of the websocket URL. It carries no challenge; instead each event
 * may be used once (`events22242:<id>`, kept for the window). The signature and the level come
 * from the same Authorize job as NIP-42.
 *
 * @module
 */
import { computeId, type NostrEvent, tagValue } from "../../lib/nostr/event.ts";
import { checkEvent, type EventLimits } from "../event_schema.ts";
import { AUTH_KIND } from "./auth_event.ts";
import { sameRelay } from "./relay_url.ts";
import type { CloseVerdict } from "./verdict.ts";

/** Name of the URL parameter. */
export const FAST_AUTH_PARAM = "authorization";

/** Close code of every fast-auth refusal. */
export const FAST_AUTH_CLOSE_CODE = 3403;

/** The fast-auth parameter of a connection request. */
export type FastAuth =
  | { kind: "none" }
  | { kind: "invalid"; what: string }
  | { kind: "valid"; event: NostrEvent };

/** What a fast-auth event is checked against. */
export interface FastAuthContext {
  relayUrl: string;
  /** How far `created_at` may be from now, in seconds. */
  windowSeconds: number;
  /** Now, unix seconds. */
  now: number;
  limits: EventLimits;
}

/** Reads and checks the `authorization` parameter: relay tag, kind, time window, id. */
export function parseFastAuth(params: URLSearchParams, ctx: FastAuthContext): FastAuth {
  const raw = params.get(FAST_AUTH_PARAM);
  if (raw === null) return { kind: "none" };
  function invalid(what: string): FastAuth {
    return { kind: "invalid", what };
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return invalid("authorization is not valid JSON");
  }
  const shape = checkEvent(value, ctx.limits);
  if (!shape.ok) return invalid(shape.reason.replace(/^invalid: /, ""));
  const event = shape.event;
  const relay = tagValue(event, "relay");
  if (relay === undefined) return invalid("relay tag is missing");
  if (!sameRelay(relay, ctx.relayUrl)) return invalid("relay tag does not match this relay");
  if (event.kind !== AUTH_KIND) return invalid(`kind must be ${AUTH_KIND}`);
  if (Math.abs(event.created_at - ctx.now) > ctx.windowSeconds) {
    return invalid("created_at is too far from now");
  }
  if (computeId(event) !== event.id) return invalid("id does not match the event");
  return { kind: "valid", event };
}

/** Close of a connection whose fast-auth event is invalid (or whose signature is). */
export function fastAuthErrors(what: string): CloseVerdict {
  return {
    code: FAST_AUTH_CLOSE_CODE,
    reason: `restricted: fast auth event has errors: ${what}`,
  };
}

/** Close of a connection without fast auth on a relay that forces it. */
export const FAST_AUTH_MISSING: CloseVerdict = Object.freeze({
  code: FAST_AUTH_CLOSE_CODE,
  reason:
    "restricted: this relay requires authentication: connect with ?authorization=<signed kind 22242 event>",
});

/**
 * Close of both connections that used the same fast-auth event. The original's text, "event
 * with id <id> was used for authentication twice", is 124 bytes with the prefix: one more than
 * a close frame can carry (RFC 6455: 123), so it says "event id".
 */
export function usedTwice(id: string): CloseVerdict {
  return {
    code: FAST_AUTH_CLOSE_CODE,
    reason: `restricted: event id ${id} was used for authentication twice`,
  };
}

/** Close of a connection whose level is below the forced minimum. */
export function belowForcedLevel(forced: number): CloseVerdict {
  return {
    code: FAST_AUTH_CLOSE_CODE,
    reason: `restricted: your account doesn't have required authorization (${forced})`,
  };
}

/**
 * The close verdict at connect, before any Redis or job: an invalid parameter always closes;
 * a missing one closes only when `forcedMinAuthLevel` > 0.
 */
export function fastAuthAtConnect(
  fast: FastAuth,
  forcedMinAuthLevel: number,
): CloseVerdict | undefined {
  if (fast.kind === "invalid") return fastAuthErrors(fast.what);
  if (fast.kind === "none" && forcedMinAuthLevel > 0) return FAST_AUTH_MISSING;
  return undefined;
}
