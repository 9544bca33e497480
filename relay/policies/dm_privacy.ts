/**
 * Direct-message privacy (NIP_04_NIP_42_ENFORCE_KIND_4_AUTHENTICATION): kind 4 (NIP-04) and
 * kind 1059 (NIP-59 gift wraps) are served only to their participants, the author or a
 * `p`-tagged recipient, authenticated on the connection. A REQ or COUNT that asks for them
 * explicitly is refused up front when it cannot be for the asker; the worker post-filters
 * stored results with the job's `authed`, and live delivery checks `dmVisibleTo`.
 *
 * @module
 */
import type { NostrEvent } from "../../lib/nostr/event.ts";
import type { Filter } from "../../lib/nostr/filter.ts";
import { ACCEPT, type CommandPolicy, reject, type Verdict } from "./verdict.ts";

/** Kinds served only to their participants. */
export const DM_KINDS: readonly number[] = Object.freeze([4, 1059]);

/** True for kind 4 and 1059. */
export function isDirectMessageKind(kind: number): boolean {
  return kind === 4 || kind === 1059;
}

function refusal(filter: Filter, authed: readonly string[]): Verdict {
  if (!filter.kinds?.some(isDirectMessageKind)) return ACCEPT;
  if (authed.length === 0) {
    return reject("auth-required", "direct messages are only served to their participants");
  }
  const authors = filter.authors;
  const recipients = filter["#p"];
  if (authors === undefined && recipients === undefined) return ACCEPT;
  const named = [...(authors ?? []), ...(recipients ?? [])];
  if (named.some((pubkey) => authed.includes(pubkey))) return ACCEPT;
  return reject("restricted", "direct messages are only served to their participants");
}

/**
 * Refuses a REQ or COUNT whose filters ask for DMs from an anonymous connection, or name only
 * authors and recipients that are not authenticated on it (someone else's DMs).
 */
export function dmPrivacy(): CommandPolicy {
  return function dmPrivacyPolicy(msg, conn) {
    if (msg.type !== "REQ" && msg.type !== "COUNT") return ACCEPT;
    for (const filter of msg.filters) {
      const verdict = refusal(filter, conn.authed);
      if (!verdict.ok) return verdict;
    }
    return ACCEPT;
  };
}

/** True when a connection authenticated as `authed` may receive DM `event` (author or p tag). */
export function dmVisibleTo(event: Pick<NostrEvent, "pubkey" | "tags">, authed: readonly string[]) {
  if (authed.length === 0) return false;
  if (authed.includes(event.pubkey)) return true;
  for (const t of event.tags) {
    if (t[0] === "p" && t[1] !== undefined && authed.includes(t[1])) return true;
  }
  return false;
}
