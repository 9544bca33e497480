/**
 * The values gatekeeping rules return: a message is accepted, or refused with a reason that
 * starts with a NIP-01 machine-readable prefix; a connection is admitted, or closed with a
 * websocket close code and a reason. Rules never throw for a refusal.
 *
 * @module
 */
import type { ClientMessage } from "../messages.ts";

/** NIP-01 / NIP-42 prefixes a refusal may carry. */
export type Prefix = "invalid" | "restricted" | "auth-required" | "rate-limited" | "error";

/** The answer of a message rule. */
export type Verdict = { ok: true } | { ok: false; reason: string };

/** The accepting verdict (shared, never mutated). */
export const ACCEPT: Verdict = Object.freeze({ ok: true });

/** A refusal; the reason becomes `"<prefix>: <message>"`. */
export function reject(prefix: Prefix, message: string): Verdict {
  return { ok: false, reason: `${prefix}: ${message}` };
}

/** A connection refused at connect time: closed with `code` and `reason`. */
export interface CloseVerdict {
  code: number;
  reason: string;
}

/** What a message rule may know about the connection. */
export interface PolicyConnection {
  /** Pubkeys authenticated on the connection (NIP-42 or fast auth). */
  readonly authed: readonly string[];
  /** Auth level of the connection: the highest level of its pubkeys, 0 when anonymous. */
  readonly level: number;
}

/** A rule applied to every valid client message before it is dispatched. */
export type CommandPolicy = (msg: ClientMessage, conn: PolicyConnection) => Verdict;
