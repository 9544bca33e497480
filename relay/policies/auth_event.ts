/**
 * NIP-42: the checks of a client's `["AUTH", <kind-22242 event>]` made by the web process. The
 * signature is verified by the Authorize job, with the level.
 *
 * @module
 */
import { computeId, type NostrEvent, tagValue } from "../../lib/nostr/event.ts";
import { checkEvent, type EventLimits } from "../event_schema.ts";
import { sameRelay } from "./relay_url.ts";
import { ACCEPT, reject, type Verdict } from "./verdict.ts";

/** Kind of NIP-42 authentication events. */
export const AUTH_KIND = 22242;

/** What an AUTH event is checked against. */
export interface AuthEventContext {
  /** The challenge sent to this connection. */
  challenge: string;
  /** This relay's public websocket URL. */
  relayUrl: string;
  /** How far `created_at` may be from now, in seconds. */
  windowSeconds: number;
  /** Now, unix seconds. */
  now: number;
  limits: EventLimits;
}

/** The outcome: the event, or the reason for `["OK", id, false, reason]` (id "" if unknown). */
export type AuthEventCheck =
  | { ok: true; event: NostrEvent }
  | { ok: false; id: string; reason: string };

const HEX64 = /^[0-9a-f]{64}$/;

/** Checks shape, kind, time window, challenge, relay tag and id, in that order. */
export function checkAuthEvent(value: unknown, ctx: AuthEventContext): AuthEventCheck {
  const claimed = (value as { id?: unknown } | null)?.id;
  const id = typeof claimed === "string" && HEX64.test(claimed) ? claimed : "";
  function fail(reason: string): AuthEventCheck {
    return { ok: false, id, reason };
  }
  const shape = checkEvent(value, ctx.limits);
  if (!shape.ok) return fail(shape.reason);
  const event = shape.event;
  if (event.kind !== AUTH_KIND) return fail("invalid: auth event must be kind 22242");
  if (Math.abs(event.created_at - ctx.now) > ctx.windowSeconds) {
    return fail("invalid: auth event created_at is too far from now");
  }
  if (tagValue(event, "challenge") !== ctx.challenge) {
    return fail("invalid: auth event challenge does not match");
  }
  if (!sameRelay(tagValue(event, "relay") ?? "", ctx.relayUrl)) {
    return fail("invalid: auth event relay tag does not match this relay");
  }
  if (computeId(event) !== event.id) {
    return fail("invalid: auth event id does not match its content");
  }
  return { ok: true, event };
}

/**
 * With NIP_42_RESTRICT_CHANGE_AUTH_PUBKEY, a connection authenticated as one pubkey may not
 * authenticate another (re-authenticating the same one is allowed).
 */
export function pubkeyChange(
  pubkey: string,
  authed: readonly string[],
  restrict: boolean,
): Verdict {
  if (!restrict || authed.every((p) => p === pubkey)) return ACCEPT;
  return reject("restricted", "this connection is already authenticated as another pubkey");
}
