/**
 * Websocket close codes and reasons the relay sends, and the sanitising of codes and reasons
 * that come from elsewhere (a worker's or the admin's `close` reply).
 *
 * @module
 */
import { utf8Length } from "./text.ts";

/**
 * Closes initiated by the relay. Idle uses 1000 (normal closure): nothing went wrong and the
 * client may reconnect when it needs the relay again; 1001 is kept for shutdown ("going away")
 * so that clients can tell the two apart; 1008 (policy violation) for a reader too slow to keep
 * its outgoing buffer under the limit.
 */
export const CLOSE = {
  idle: { code: 1000, reason: "error: idle for too long" },
  shutdown: { code: 1001, reason: "error: relay is shutting down" },
  slow: { code: 1008, reason: "error: client is reading too slowly" },
} as const;

/** `code` when a server may send it in a close frame, else 1011 (internal error). */
export function sendableCode(code: number): number {
  const ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
  return Number.isInteger(code) && ok ? code : 1011;
}

/** `reason` cut to the 123 bytes a close frame allows (never splitting a code point). */
export function sendableReason(reason: string): string {
  if (utf8Length(reason) <= 123) return reason;
  let out = "";
  let bytes = 0;
  for (const ch of reason) {
    const n = utf8Length(ch);
    if (bytes + n > 123) break;
    out += ch;
    bytes += n;
  }
  return out;
}
