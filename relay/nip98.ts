/**
 * NIP-98 HTTP auth, as NIP-86 requires it: `Authorization: Nostr <base64 kind-27235 event>`
 * with a valid id and signature, `created_at` within a window of now, a `u` tag naming the
 * request URL (or the relay URL in its ws or http form), a `method` tag equal to the request's
 * method, and a `payload` tag holding the sha256 of the body (required here, as NIP-86 says).
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { computeId, type NostrEvent, verifySignature } from "../lib/nostr/event.ts";

/** The kind of NIP-98 auth events. */
export const NIP98_KIND = 27235;
/** Seconds `created_at` may be from now, either way (the NIP's suggestion). */
export const NIP98_WINDOW_SECONDS = 60;

/** What a request is checked against. */
export interface Nip98Request {
  /** The Authorization header, or null. */
  authorization: string | null;
  /** HTTP method of the request. */
  method: string;
  /** URLs the `u` tag may name (compared after URL normalisation). */
  urls: readonly string[];
  /** The raw request body. */
  body: Uint8Array;
  /** Unix seconds. */
  now: number;
}

/** The outcome: the verified event, or why it was refused (a sentence for the 401 answer). */
export type Nip98Result = { ok: true; event: NostrEvent } | { ok: false; reason: string };

const HEX64 = /^[0-9a-f]{64}$/;

function refuse(reason: string): Nip98Result {
  return { ok: false, reason };
}

/** `url` normalised for comparison (scheme and host lowercase, "/" for an empty path), or null. */
export function normaliseUrl(url: string): string | null {
  try {
    return new URL(url).href;
  } catch {
    return null;
  }
}

/** The http(s) form of a ws(s) relay URL (http and https URLs are returned as they are). */
export function httpUrlOf(relayUrl: string): string {
  return relayUrl.replace(/^ws(s?):\/\//i, "http$1://");
}

function decodeBase64(s: string): string | null {
  try {
    const b64 = s.replaceAll("-", "+").replaceAll("_", "/");
    const bin = atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, "="));
    return new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(bin, (c) => c.charCodeAt(0)),
    );
  } catch {
    return null;
  }
}

function isEvent(v: unknown): v is NostrEvent {
  if (typeof v !== "object" || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e.id === "string" && typeof e.pubkey === "string" &&
    typeof e.sig === "string" && typeof e.content === "string" &&
    Number.isSafeInteger(e.kind) && Number.isSafeInteger(e.created_at) &&
    Array.isArray(e.tags) &&
    e.tags.every((t) => Array.isArray(t) && t.every((x) => typeof x === "string"));
}

function tag(e: NostrEvent, name: string): string | undefined {
  return e.tags.find((t) => t[0] === name)?.[1];
}

/** Checks the NIP-98 authorization of a request. */
export function verifyNip98(req: Nip98Request): Nip98Result {
  const m = /^Nostr\s+([A-Za-z0-9+/_=-]+)\s*$/i.exec(req.authorization ?? "");
  if (!m) return refuse("missing Authorization: Nostr <base64 event>");
  const json = decodeBase64(m[1]!);
  if (json === null) return refuse("the Authorization event is not base64");
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return refuse("the Authorization event is not JSON");
  }
  if (!isEvent(parsed)) return refuse("the Authorization event is malformed");
  const e: NostrEvent = {
    id: parsed.id,
    pubkey: parsed.pubkey,
    created_at: parsed.created_at,
    kind: parsed.kind,
    tags: parsed.tags,
    content: parsed.content,
    sig: parsed.sig,
  };
  if (e.kind !== NIP98_KIND) return refuse(`the Authorization event must be of kind ${NIP98_KIND}`);
  if (!HEX64.test(e.pubkey) || !HEX64.test(e.id) || computeId(e) !== e.id) {
    return refuse("the Authorization event has a bad id");
  }
  if (!verifySignature(e)) return refuse("the Authorization event has a bad signature");
  if (Math.abs(req.now - e.created_at) > NIP98_WINDOW_SECONDS) {
    return refuse("the Authorization event is too old or too far in the future");
  }
  const u = normaliseUrl(tag(e, "u") ?? "");
  const allowed = req.urls.map(normaliseUrl).filter((x) => x !== null);
  if (u === null || !allowed.includes(u)) {
    return refuse("the Authorization event's u tag is not this URL");
  }
  if ((tag(e, "method") ?? "").toUpperCase() !== req.method.toUpperCase()) {
    return refuse("the Authorization event's method tag is not this request's method");
  }
  const payload = tag(e, "payload");
  if (payload === undefined) return refuse("the Authorization event has no payload tag");
  if (payload.toLowerCase() !== bytesToHex(sha256(req.body))) {
    return refuse("the Authorization event's payload tag is not the sha256 of the body");
  }
  return { ok: true, event: e };
}
