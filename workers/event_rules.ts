/**
 * The checks a NewEvent job applies before touching the database, in the order that decides
 * which OK message a client gets: shape, id, signature, created_at limits, NIP-40, NIP-13, NIP-70.
 * Each returns the client-facing reason (with its NIP-01 prefix) or null when the event passes.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import {
  computeId,
  dTag,
  expiration,
  isProtected,
  kindClass,
  type NostrEvent,
  powDifficulty,
  verifySignature,
} from "../lib/nostr/event.ts";

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/** The result of re-reading a job's event: the event, or why it cannot be used. */
export type ParsedEvent = { ok: true; event: NostrEvent } | { ok: false; reason: string };

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === "string");
}

/**
 * Parses the canonical JSON of a job and checks its types and id. The web process already did,
 * but the worker does not trust a queue payload for type safety.
 */
export function parseEventJson(json: string): ParsedEvent {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return { ok: false, reason: "invalid: event is not JSON" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return { ok: false, reason: "invalid: event is not an object" };
  }
  const e = v as Record<string, unknown>;
  const shapeOk = typeof e.id === "string" && HEX64.test(e.id) &&
    typeof e.pubkey === "string" && HEX64.test(e.pubkey) &&
    typeof e.sig === "string" && HEX128.test(e.sig) &&
    Number.isSafeInteger(e.created_at) && (e.created_at as number) >= 0 &&
    Number.isInteger(e.kind) && (e.kind as number) >= 0 && (e.kind as number) <= 65535 &&
    typeof e.content === "string" &&
    Array.isArray(e.tags) && e.tags.every(isStringArray);
  if (!shapeOk) return { ok: false, reason: "invalid: malformed event" };
  const event = e as unknown as NostrEvent;
  if (computeId(event) !== event.id) {
    return { ok: false, reason: "invalid: event id does not match its content" };
  }
  return { ok: true, event };
}

/** NIP-13: minimum difficulty and the target committed to by a nonce tag. */
function checkPow(e: NostrEvent, minPow: number): string | null {
  if (minPow <= 0) return null;
  const difficulty = powDifficulty(e.id);
  if (difficulty < minPow) return `pow: difficulty ${difficulty} is less than ${minPow}`;
  const nonce = e.tags.find((t) => t[0] === "nonce");
  const target = nonce?.[2];
  if (target !== undefined && /^\d{1,3}$/.test(target) && Number(target) < minPow) {
    return `pow: committed target ${Number(target)} is less than ${minPow}`;
  }
  return null;
}

/**
 * Applies rules a–e of the NewEvent job to an event whose shape and id are known good.
 * `authed` lists the pubkeys the publishing connection authenticated; `now` is unix seconds.
 */
export function checkEvent(
  e: NostrEvent,
  ctx: { authed: readonly string[]; config: Config; now: number },
): string | null {
  const { config, now } = ctx;
  if (!verifySignature(e)) return "invalid: bad signature";
  if (config.createdAtUpperLimit > 0 && e.created_at > now + config.createdAtUpperLimit) {
    return "invalid: created_at is too far in the future";
  }
  if (config.createdAtLowerLimit > 0 && e.created_at < now - config.createdAtLowerLimit) {
    return "invalid: created_at is too far in the past";
  }
  const exp = expiration(e);
  if (exp !== null && Number.isNaN(exp)) return "invalid: malformed expiration tag";
  if (exp !== null && exp <= now) return "invalid: event has expired";
  const pow = checkPow(e, config.minPow);
  if (pow) return pow;
  if (isProtected(e) && !ctx.authed.includes(e.pubkey)) {
    return "auth-required: this event may only be published by its author";
  }
  if (kindClass(e.kind) === "addressable" && dTag(e).includes("\u0000")) {
    return "invalid: d tag must not contain NUL characters";
  }
  return null;
}
