/**
 * NIP-01 filters: the zod schema every REQ and COUNT filter passes, and the in-memory matcher
 * the web process uses for live events. SQL in workers/ implements the same semantics:
 * fields AND together, values inside one field OR together, `#x` matches any tag named `x`
 * whose first value is exactly (case-sensitively) one of the listed values, since/until are
 * inclusive, an empty list matches nothing.
 *
 * @module
 */
import { z } from "zod";
import type { NostrEvent } from "./event.ts";

/** Most values one filter field may list. */
export const MAX_FILTER_VALUES = 5000;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters");
const timestamp = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A parsed filter. Tag conditions are kept under their `#x` keys. */
export interface Filter {
  ids?: string[];
  authors?: string[];
  kinds?: number[];
  since?: number;
  until?: number;
  limit?: number;
  search?: string;
  [tag: `#${string}`]: string[] | undefined;
}

const known = z.object({
  ids: z.array(hex64).max(MAX_FILTER_VALUES).optional(),
  authors: z.array(hex64).max(MAX_FILTER_VALUES).optional(),
  kinds: z.array(z.number().int().min(0).max(65535)).max(MAX_FILTER_VALUES).optional(),
  since: timestamp.optional(),
  until: timestamp.optional(),
  limit: z.number().int().min(0).optional(),
  search: z.string().max(1024).optional(),
});
const tagValues = z.array(z.string().max(1024)).max(MAX_FILTER_VALUES);

/**
 * Validates one filter. Unknown non-tag keys are ignored (as most relays do); tag keys must be
 * `#` plus one ASCII letter.
 */
export const filterSchema: z.ZodType<Filter> = z.record(z.string(), z.unknown()).transform(
  (obj, ctx) => {
    const base = known.safeParse(obj);
    if (!base.success) {
      for (const issue of base.error.issues) ctx.addIssue({ ...issue, code: "custom" } as never);
      return z.NEVER;
    }
    const out: Filter = {};
    for (const [k, v] of Object.entries(base.data)) {
      if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    }
    for (const [k, v] of Object.entries(obj)) {
      if (!k.startsWith("#")) continue;
      if (!/^#[a-zA-Z]$/.test(k)) {
        ctx.addIssue({
          code: "custom",
          path: [k],
          message: "tag filters must be # and one letter",
        });
        return z.NEVER;
      }
      const vals = tagValues.safeParse(v);
      if (!vals.success) {
        ctx.addIssue({ code: "custom", path: [k], message: "must be a list of strings" });
        return z.NEVER;
      }
      out[k as `#${string}`] = vals.data;
    }
    if (out.since !== undefined && out.until !== undefined && out.since > out.until) {
      ctx.addIssue({ code: "custom", path: ["since"], message: "since must not be after until" });
      return z.NEVER;
    }
    return out;
  },
);

/** The `#x` entries of a filter as [letter, values] pairs. */
export function tagConditions(f: Filter): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (const k in f) {
    if (k.charCodeAt(0) === 35 /* # */) out.push([k.slice(1), f[k as `#${string}`]!]);
  }
  return out;
}

/**
 * True when `e` satisfies every condition of `f` except `search` (full-text search of live events
 * is decided by the caller) and `limit` (which only bounds stored results).
 */
export function matchFilter(f: Filter, e: NostrEvent): boolean {
  if (f.ids && !f.ids.includes(e.id)) return false;
  if (f.kinds && !f.kinds.includes(e.kind)) return false;
  if (f.authors && !f.authors.includes(e.pubkey)) return false;
  if (f.since !== undefined && e.created_at < f.since) return false;
  if (f.until !== undefined && e.created_at > f.until) return false;
  for (const [name, values] of tagConditions(f)) {
    let hit = false;
    for (const t of e.tags) {
      if (t[0] === name && t[1] !== undefined && values.includes(t[1])) {
        hit = true;
        break;
      }
    }
    if (!hit) return false;
  }
  return true;
}
