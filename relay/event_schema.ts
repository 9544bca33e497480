/**
 * The zod schema of an EVENT's event object and the limits from the running config, producing
 * the `invalid: <field> <why>` text the client gets back.
 *
 * @module
 */
import { z } from "zod";
import type { NostrEvent } from "../lib/nostr/event.ts";
import { codePointLength } from "./text.ts";

/** Limits an event must respect (NIP-11 `max_event_tags`, `max_content_length`). */
export interface EventLimits {
  maxEventTags: number;
  maxContentLength: number;
}

/** The result of validating an event: the event, or the reason to refuse it. */
export type EventCheck = { ok: true; event: NostrEvent } | { ok: false; reason: string };

function typeError(expected: string) {
  return function describeTypeIssue(issue: { input?: unknown }): string {
    return issue.input === undefined ? "is missing" : `must be ${expected}`;
  };
}

function hex(length: number) {
  return z.string({ error: typeError("a string") }).regex(
    new RegExp(`^[0-9a-f]{${length}}$`),
    `must be ${length} lowercase hex characters`,
  );
}

const KIND_RANGE = "must be an integer from 0 to 65535";
const TIMESTAMP = "must be a non-negative safe integer (unix seconds)";

const eventSchema = z.object({
  id: hex(64),
  pubkey: hex(64),
  created_at: z.number({ error: typeError("a number") }).int(TIMESTAMP).min(0, TIMESTAMP).max(
    Number.MAX_SAFE_INTEGER,
    TIMESTAMP,
  ),
  kind: z.number({ error: typeError("a number") }).int(KIND_RANGE).min(0, KIND_RANGE).max(
    65535,
    KIND_RANGE,
  ),
  tags: z.array(
    z.array(z.string({ error: typeError("a string") }), {
      error: typeError("a non-empty array of strings"),
    }).min(1, "must be a non-empty array of strings"),
    { error: typeError("an array") },
  ),
  content: z.string({ error: typeError("a string") }),
  sig: hex(128),
});

/** Renders a zod path as `tags[3][1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Validates the shape of an event object (not its id hash nor its signature). */
export function checkEvent(value: unknown, limits: EventLimits): EventCheck {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: "invalid: event must be a JSON object" };
  }
  const tags = (value as { tags?: unknown }).tags;
  if (Array.isArray(tags) && tags.length > limits.maxEventTags) {
    return {
      ok: false,
      reason: `invalid: tags has ${tags.length} entries, the maximum is ${limits.maxEventTags}`,
    };
  }
  const parsed = eventSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `invalid: ${formatPath(issue.path)} ${issue.message}` };
  }
  const event = parsed.data;
  if (event.content.length > limits.maxContentLength) {
    const chars = codePointLength(event.content);
    if (chars > limits.maxContentLength) {
      return {
        ok: false,
        reason:
          `invalid: content is ${chars} characters, the maximum is ${limits.maxContentLength}`,
      };
    }
  }
  return { ok: true, event };
}
