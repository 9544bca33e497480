/**
 * Parses one client frame into a command (EVENT, REQ, COUNT, CLOSE, AUTH) or a refusal that
 * carries the exact frame to send back. Nothing here closes the connection: every bad input gets
 * a NIP-01 answer with a machine-readable prefix and the client may carry on.
 *
 * @module
 */
import { computeId, type NostrEvent } from "../lib/nostr/event.ts";
import { type Filter, filterSchema } from "../lib/nostr/filter.ts";
import { checkEvent, type EventLimits, formatPath } from "./event_schema.ts";
import { codePointLength, utf8Length } from "./text.ts";

/** The limits from the running config that parsing enforces. */
export interface MessageLimits extends EventLimits {
  maxMessageLength: number;
  maxFilters: number;
  maxLimit: number;
}

/** Longest subscription id accepted (NIP-11 `max_subid_length`). */
export const MAX_SUBID_LENGTH = 64;

/** A valid client command. */
export type ClientMessage =
  | { type: "EVENT"; event: NostrEvent }
  | { type: "REQ"; sid: string; filters: Filter[] }
  | { type: "COUNT"; sid: string; filters: Filter[] }
  | { type: "CLOSE"; sid: string }
  | { type: "AUTH"; event: Record<string, unknown> };

/** The outcome of parsing a frame; `bytes` is its size for the traffic counters. */
export type ParseResult =
  & { bytes: number }
  & ({ ok: true; message: ClientMessage } | { ok: false; reply: string });

/** `["NOTICE", text]` */
export function noticeFrame(text: string): string {
  return JSON.stringify(["NOTICE", text]);
}

/** `["OK", id, accepted, text]` */
export function okFrame(id: string, accepted: boolean, text: string): string {
  return JSON.stringify(["OK", id, accepted, text]);
}

/** `["CLOSED", sid, text]` */
export function closedFrame(sid: string, text: string): string {
  return JSON.stringify(["CLOSED", sid, text]);
}

const HEX64 = /^[0-9a-f]{64}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses and validates one websocket frame. */
export function parseMessage(
  data: string | ArrayBuffer | ArrayBufferView | Blob,
  limits: MessageLimits,
): ParseResult {
  if (typeof data !== "string") {
    const bytes = data instanceof Blob ? data.size : data.byteLength;
    return { bytes, ok: false, reply: noticeFrame("invalid: binary messages are not supported") };
  }
  const bytes = utf8Length(data);
  function refuse(reply: string): ParseResult {
    return { bytes, ok: false, reply };
  }
  function accept(message: ClientMessage): ParseResult {
    return { bytes, ok: true, message };
  }
  if (bytes > limits.maxMessageLength) {
    return refuse(
      noticeFrame(`invalid: message is ${bytes} bytes, the maximum is ${limits.maxMessageLength}`),
    );
  }
  let frame: unknown;
  try {
    frame = JSON.parse(data);
  } catch {
    return refuse(noticeFrame("invalid: message is not valid JSON"));
  }
  if (!Array.isArray(frame) || typeof frame[0] !== "string") {
    return refuse(noticeFrame("invalid: message must be a JSON array starting with a command"));
  }
  const command = frame[0];
  switch (command) {
    case "EVENT": {
      const result = parseEvent(frame, limits);
      return typeof result === "string" ? refuse(result) : accept(result);
    }
    case "REQ":
    case "COUNT": {
      const result = parseSubscription(command, frame, limits);
      return typeof result === "string" ? refuse(result) : accept(result);
    }
    case "CLOSE":
      if (frame.length !== 2 || typeof frame[1] !== "string") {
        return refuse(noticeFrame('invalid: CLOSE must be ["CLOSE", <subscription id string>]'));
      }
      return accept({ type: "CLOSE", sid: frame[1] });
    case "AUTH":
      // NIP-42: AUTH is answered with OK, even when malformed (id "" when it has none)
      if (frame.length !== 2 || !isRecord(frame[1])) {
        const claimed = isRecord(frame[1]) ? frame[1].id : undefined;
        const id = typeof claimed === "string" && HEX64.test(claimed) ? claimed : "";
        return refuse(okFrame(id, false, 'invalid: AUTH must be ["AUTH", <signed event object>]'));
      }
      return accept({ type: "AUTH", event: frame[1] });
    default:
      return refuse(noticeFrame(`invalid: unknown command "${command.slice(0, 20)}"`));
  }
}

/** EVENT: a refusal frame, or the validated event. */
function parseEvent(frame: unknown[], limits: MessageLimits): string | ClientMessage {
  const value = frame[1];
  const claimed = isRecord(value) ? value.id : undefined;
  const id = typeof claimed === "string" && HEX64.test(claimed) ? claimed : undefined;
  function fail(reason: string): string {
    return id ? okFrame(id, false, reason) : noticeFrame(reason);
  }
  if (frame.length !== 2) return fail('invalid: EVENT must be ["EVENT", <event>]');
  const checked = checkEvent(value, limits);
  if (!checked.ok) return fail(checked.reason);
  if (computeId(checked.event) !== checked.event.id) {
    return okFrame(checked.event.id, false, "invalid: event id does not match its content");
  }
  return { type: "EVENT", event: checked.event };
}

/** REQ and COUNT: a refusal frame, or the subscription id and its validated filters. */
function parseSubscription(
  type: "REQ" | "COUNT",
  frame: unknown[],
  limits: MessageLimits,
): string | ClientMessage {
  const sid = frame[1];
  if (typeof sid !== "string") {
    return noticeFrame(`invalid: ${type} subscription id must be a string`);
  }
  const length = codePointLength(sid);
  if (length < 1 || length > MAX_SUBID_LENGTH) {
    return closedFrame(
      sid,
      `invalid: subscription id must be 1 to ${MAX_SUBID_LENGTH} characters`,
    );
  }
  const count = frame.length - 2;
  if (count < 1) return closedFrame(sid, `invalid: ${type} needs at least one filter`);
  if (count > limits.maxFilters) {
    return closedFrame(sid, `invalid: too many filters, the maximum is ${limits.maxFilters}`);
  }
  const filters: Filter[] = [];
  for (let i = 0; i < count; i++) {
    const parsed = filterSchema.safeParse(frame[i + 2]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = issue.path.length
        ? `filter ${i + 1} ${formatPath(issue.path)}: ${issue.message}`
        : `filter ${i + 1} must be a JSON object`;
      return closedFrame(sid, `invalid: ${where}`);
    }
    const filter = parsed.data;
    if (filter.limit !== undefined && filter.limit > limits.maxLimit) {
      filter.limit = limits.maxLimit;
    }
    filters.push(filter);
  }
  return { type, sid, filters };
}
