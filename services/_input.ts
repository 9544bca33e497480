/**
 * Parsing of the identifiers admins type or NIP-86 clients send: pubkeys and event ids (hex,
 * or NIP-19 `npub`/`note`/`nevent`), kinds, day counts, IP addresses, and keyset cursors.
 * Every parser throws ServiceError("invalid", "Cannot <what>: …") on bad input.
 *
 * @module
 */
import { isIP } from "node:net";
import { decode } from "nostr-tools/nip19";
import { ServiceError } from "./deps.ts";

const HEX64 = /^[0-9a-fA-F]{64}$/;

function invalid(what: string, detail: string): never {
  throw new ServiceError("invalid", `Cannot ${what}: ${detail}`);
}

/** A pubkey as 64 lowercase hex chars, from hex (any case) or `npub1…`. */
export function parsePubkey(input: unknown, what = "use pubkey"): string {
  const s = typeof input === "string" ? input.trim() : "";
  if (HEX64.test(s)) return s.toLowerCase();
  if (s.startsWith("npub1")) {
    try {
      const d = decode(s);
      if (d.type === "npub") return d.data;
    } catch {
      // reported below
    }
  }
  return invalid(what, `${JSON.stringify(input)} is not a pubkey (64 hex chars or npub)`);
}

/** An event id as 64 lowercase hex chars, from hex (any case), `note1…` or `nevent1…`. */
export function parseEventId(input: unknown, what = "use event id"): string {
  const s = typeof input === "string" ? input.trim() : "";
  if (HEX64.test(s)) return s.toLowerCase();
  if (s.startsWith("note1") || s.startsWith("nevent1")) {
    try {
      const d = decode(s);
      if (d.type === "note") return d.data;
      if (d.type === "nevent") return d.data.id;
    } catch {
      // reported below
    }
  }
  return invalid(what, `${JSON.stringify(input)} is not an event id (64 hex chars or note)`);
}

/** An event kind 0..65535 (a number or a decimal string). */
export function parseKind(input: unknown, what = "use kind"): number {
  const n = typeof input === "string" && /^\d+$/.test(input.trim()) ? Number(input) : input;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 65535) {
    return invalid(what, `${JSON.stringify(input)} is not a kind (0..65535)`);
  }
  return n;
}

/** A whole number of days, not 0, within ±100 years. */
export function parseDays(input: unknown, what = "use days"): number {
  const n = typeof input === "string" && /^-?\d+$/.test(input.trim()) ? Number(input) : input;
  if (typeof n !== "number" || !Number.isInteger(n) || n === 0 || Math.abs(n) > 36500) {
    return invalid(what, `${JSON.stringify(input)} is not a whole number of days (±1..36500)`);
  }
  return n;
}

/** An IPv4 or IPv6 address, normalised (IPv6 lowercase; IPv4-mapped IPv6 kept as given). */
export function parseIp(input: unknown, what = "use IP address"): string {
  const s = typeof input === "string" ? input.trim() : "";
  if (!isIP(s)) return invalid(what, `${JSON.stringify(input)} is not an IP address`);
  return s.toLowerCase();
}

/** An optional free-text reason, trimmed and cut to 500 characters. */
export function parseReason(input: unknown): string {
  if (input === undefined || input === null) return "";
  if (typeof input !== "string") return invalid("use reason", "expected a string");
  return input.trim().slice(0, 500);
}

/** A page size: `input` or `fallback`, clamped to 1..`max`. */
export function pageLimit(input: unknown, fallback = 50, max = 500): number {
  const n = typeof input === "string" ? Number(input) : input;
  if (typeof n !== "number" || !Number.isFinite(n)) return fallback;
  return Math.min(Math.max(Math.trunc(n), 1), max);
}

/** An opaque keyset cursor (base64url JSON of the last row's sort key). */
export function encodeCursor(parts: (string | number)[]): string {
  const json = JSON.stringify(parts);
  let bin = "";
  for (const b of new TextEncoder().encode(json)) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes a cursor of `encodeCursor` with `n` parts; undefined for an empty cursor. */
export function decodeCursor(
  cursor: string | null | undefined,
  n: number,
): (string | number)[] | undefined {
  if (!cursor) return undefined;
  try {
    const b64 = cursor.replaceAll("-", "+").replaceAll("_", "/");
    const bin = atob(b64);
    const json = new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    const parts = JSON.parse(json) as unknown;
    if (
      Array.isArray(parts) && parts.length === n &&
      parts.every((p) => typeof p === "string" || typeof p === "number")
    ) return parts;
  } catch {
    // reported below
  }
  return invalid("read page", "the cursor is not valid");
}

/** A page of a keyset-paginated list: `next` is the cursor of the following page, if any. */
export interface Page<T> {
  items: T[];
  next: string | null;
}
