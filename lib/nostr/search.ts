/**
 * NIP-50 helpers shared by the worker (indexing, stored queries) and the web process (live
 * matching), so both feed PostgreSQL's text search the same text.
 *
 * @module
 */
import type { NostrEvent } from "./event.ts";

/**
 * The text indexed for an event: its content, or for kind 0 the values of its JSON metadata
 * (name, display_name, about, nip05, ...) one per line. NUL bytes are removed (PostgreSQL
 * rejects them).
 */
export function searchableText(e: Pick<NostrEvent, "kind" | "content">): string {
  let text = e.content;
  if (e.kind === 0) {
    try {
      const meta = JSON.parse(e.content);
      if (meta && typeof meta === "object" && !Array.isArray(meta)) {
        text = Object.values(meta).filter((v) => typeof v === "string").join("\n");
      }
    } catch {
      // not JSON: index the raw content
    }
  }
  return text.replaceAll("\u0000", "");
}

/**
 * The query text handed to `websearch_to_tsquery`: the NIP-50 `search` string without its
 * `key:value` extension tokens (none are supported, so they are ignored as the NIP allows).
 */
export function searchQueryText(search: string): string {
  return search
    .split(/\s+/)
    .filter((w) => w && !/^[a-z_]+:\S+$/i.test(w))
    .join(" ")
    .replaceAll("\u0000", "");
}
