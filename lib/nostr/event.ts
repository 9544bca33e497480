/**
 * Nostr event primitives shared by both processes: shape, canonical form, id, signature,
 * kind classes and the tag readers used by NIP-09, NIP-13, NIP-40 and NIP-70.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { schnorr } from "@noble/curves/secp256k1.js";
import { initNostrWasm, type Nostr } from "nostr-wasm";

/** A signed Nostr event (NIP-01). */
export interface NostrEvent {
  id: string;
  pubkey: string;
  created_at: number;
  kind: number;
  tags: string[][];
  content: string;
  sig: string;
}

/** How a kind is stored (NIP-01). */
export type KindClass = "regular" | "replaceable" | "ephemeral" | "addressable";

/** Classifies `kind` by the current NIP-01 ranges. */
export function kindClass(kind: number): KindClass {
  if (kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000)) return "replaceable";
  if (kind >= 20000 && kind < 30000) return "ephemeral";
  if (kind >= 30000 && kind < 40000) return "addressable";
  return "regular";
}

const encoder = new TextEncoder();

/** The NIP-01 serialization whose sha256 is the event id. */
export function idPayload(e: Omit<NostrEvent, "id" | "sig">): string {
  return JSON.stringify([0, e.pubkey, e.created_at, e.kind, e.tags, e.content]);
}

/** Computes the event id (lowercase hex sha256 of the NIP-01 serialization). */
export function computeId(e: Omit<NostrEvent, "id" | "sig">): string {
  return bytesToHex(sha256(encoder.encode(idPayload(e))));
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/** libsecp256k1 compiled to WASM (nostr-wasm), once `initVerifier()` has loaded it. */
let wasm: Nostr | null = null;
let loading: Promise<boolean> | undefined;

/**
 * Loads the WASM build of libsecp256k1 used by `verifySignature` (≈ 0.25 ms per signature here
 * against ≈ 0.37 ms for @noble/curves, see docs/PERFORMANCE.md). The binary is embedded in the
 * npm package (no file read, no network). Resolves to false, and verification keeps using
 * @noble/curves, when it cannot be loaded. Idempotent.
 */
export function initVerifier(): Promise<boolean> {
  return loading ??= initNostrWasm().then(
    (instance) => {
      wasm = instance;
      return true;
    },
    () => false,
  );
}

/** Which implementation `verifySignature` uses now. */
export function verifierName(): "libsecp256k1-wasm" | "noble" {
  return wasm ? "libsecp256k1-wasm" : "noble";
}

/**
 * Verifies the BIP-340 signature of `e.id` by `e.pubkey`; with the WASM verifier loaded it also
 * checks that `e.id` is the hash of the event (callers have checked it already). Never throws.
 */
export function verifySignature(e: NostrEvent): boolean {
  // Malformed hex never reaches the WASM verifier: it would decode it into stale buffers.
  if (!HEX64.test(e.id) || !HEX64.test(e.pubkey) || !HEX128.test(e.sig)) return false;
  if (wasm) {
    try {
      wasm.verifyEvent(e);
      return true;
    } catch {
      return false;
    }
  }
  try {
    return schnorr.verify(hexToBytes(e.sig), hexToBytes(e.id), hexToBytes(e.pubkey));
  } catch {
    return false;
  }
}

/**
 * The canonical JSON of an event as stored and served: fixed key order with `id` first, so
 * `raw.slice(7, 71)` is the id without parsing (see `rawId`).
 */
export function canonicalJson(e: NostrEvent): string {
  return JSON.stringify({
    id: e.id,
    pubkey: e.pubkey,
    created_at: e.created_at,
    kind: e.kind,
    tags: e.tags,
    content: e.content,
    sig: e.sig,
  });
}

/** The id of an event in canonical JSON, read without parsing. */
export function rawId(raw: string): string {
  return raw.slice(7, 71);
}

/** First value of the first tag named `name`, or undefined. */
export function tagValue(e: Pick<NostrEvent, "tags">, name: string): string | undefined {
  for (const t of e.tags) if (t[0] === name) return t[1];
  return undefined;
}

/** The `d` tag value of an addressable event ("" when absent). */
export function dTag(e: Pick<NostrEvent, "tags">): string {
  return tagValue(e, "d") ?? "";
}

/**
 * The NIP-40 expiration timestamp, null when there is none, NaN when the tag is malformed.
 */
export function expiration(e: Pick<NostrEvent, "tags">): number | null {
  const v = tagValue(e, "expiration");
  if (v === undefined) return null;
  return /^\d{1,15}$/.test(v) ? Number(v) : NaN;
}

/** True when the event carries the NIP-70 `["-"]` tag. */
export function isProtected(e: Pick<NostrEvent, "tags">): boolean {
  return e.tags.some((t) => t.length === 1 && t[0] === "-");
}

/** NIP-13 difficulty: the number of leading zero bits of the id. */
export function powDifficulty(id: string): number {
  let bits = 0;
  for (let i = 0; i < id.length; i++) {
    const nibble = parseInt(id[i]!, 16);
    if (nibble === 0) {
      bits += 4;
      continue;
    }
    bits += Math.clz32(nibble) - 28;
    break;
  }
  return bits;
}

/** True when `e` has expired at unix time `now` (seconds). */
export function isExpired(e: Pick<NostrEvent, "tags">, now: number): boolean {
  const exp = expiration(e);
  return exp !== null && !Number.isNaN(exp) && exp <= now;
}
