/**
 * NIP-70: an event carrying the `["-"]` tag is accepted only from a connection authenticated as
 * its author.
 *
 * @module
 */
import { isProtected } from "../../lib/nostr/event.ts";
import { ACCEPT, type CommandPolicy, reject } from "./verdict.ts";

/** Refuses protected events not published by their authenticated author. */
export function protectedEvents(): CommandPolicy {
  return function protectedEventsPolicy(msg, conn) {
    if (msg.type !== "EVENT" || !isProtected(msg.event)) return ACCEPT;
    if (conn.authed.includes(msg.event.pubkey)) return ACCEPT;
    return reject("auth-required", "this event may only be published by its author");
  };
}
