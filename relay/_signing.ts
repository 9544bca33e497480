/**
 * Test helpers (folder-private): keys that sign real events with nostr-tools, and the kind-22242
 * events NIP-42 and fast auth use.
 *
 * @module
 */
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import type { NostrEvent } from "../lib/nostr/event.ts";

/** A key pair that signs events. */
export interface Signer {
  pubkey: string;
  sign(template: Partial<Omit<NostrEvent, "id" | "sig" | "pubkey">>): NostrEvent;
}

/** Now in unix seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A fresh random key pair. */
export function signer(): Signer {
  const secret = generateSecretKey();
  return {
    pubkey: getPublicKey(secret),
    sign(template) {
      const e = finalizeEvent({
        kind: template.kind ?? 1,
        created_at: template.created_at ?? nowSeconds(),
        tags: template.tags ?? [],
        content: template.content ?? "",
      }, secret);
      return {
        id: e.id,
        pubkey: e.pubkey,
        created_at: e.created_at,
        kind: e.kind,
        tags: e.tags,
        content: e.content,
        sig: e.sig,
      };
    },
  };
}

let nonce = 0;

/**
 * A kind-22242 event (NIP-42 with a challenge, fast auth without); `over` replaces the relay,
 * kind or created_at. Each call gives a new id (a counter in the content): two events of one
 * key in the same second would otherwise be the same event, i.e. a replay.
 */
export function authEvent(
  who: Signer,
  relayUrl: string,
  challenge: string | undefined,
  over: { relay?: string; kind?: number; created_at?: number } = {},
): NostrEvent {
  const tags = [["relay", over.relay ?? relayUrl]];
  if (challenge !== undefined) tags.push(["challenge", challenge]);
  return who.sign({
    kind: over.kind ?? 22242,
    created_at: over.created_at,
    tags,
    content: `${++nonce}`,
  });
}

/** `base` with `?authorization=<percent-encoded event>` (fast auth). */
export function fastAuthUrl(base: string, event: NostrEvent | string): string {
  const json = typeof event === "string" ? event : JSON.stringify(event);
  return `${base}/?authorization=${encodeURIComponent(json)}`;
}
