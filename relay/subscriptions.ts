/**
 * The in-memory index of every open subscription of this web process, used to match live events
 * without scanning: each filter sits under the single most selective key it has, and an event
 * looks up only the keys it could satisfy, then confirms the few candidates with `matchFilter`.
 *
 * @module
 */
import type { NostrEvent } from "../lib/nostr/event.ts";
import { type Filter, matchFilter, tagConditions } from "../lib/nostr/filter.ts";
import { searchQueryText } from "../lib/nostr/search.ts";

/** Anything indexable: a subscription with its filters (OR'd together). */
export interface IndexedSubscription {
  readonly filters: readonly Filter[];
}

/** A subscription whose only matching filters carry `search`: Postgres decides. */
export interface SearchCandidate<S> {
  sub: S;
  /** `searchQueryText` of each matching search filter; any hit delivers. */
  queries: string[];
}

/** The result of matching one event. */
export interface MatchResult<S> {
  /** Subscriptions with a plain filter that matches: deliver now. */
  direct: S[];
  /** Subscriptions that match only through search filters (empty for unsearchable kinds). */
  search: SearchCandidate<S>[];
}

const ALL = "all";

/**
 * The keys a filter is indexed under: one key kind, the most selective the filter has (ids,
 * then authors, then the tag condition with the fewest values, then kinds, else "all"), one key
 * per value. An empty value list gives no key: such a filter matches nothing.
 */
export function filterKeys(f: Filter): string[] {
  if (f.ids) return f.ids.map((id) => `i:${id}`);
  if (f.authors) return f.authors.map((pubkey) => `a:${pubkey}`);
  const tags = tagConditions(f);
  if (tags.length) {
    let best = tags[0]!;
    for (const t of tags) if (t[1].length < best[1].length) best = t;
    return best[1].map((v) => `t:${best[0]}:${v}`);
  }
  if (f.kinds) return f.kinds.map((k) => `k:${k}`);
  return [ALL];
}

/** Subscriptions indexed by filter keys; `S` is the caller's subscription record. */
export class SubscriptionIndex<S extends IndexedSubscription> {
  /** One subscription alone under a key is kept as is, a Set only once a key has two. */
  #byKey = new Map<string, S | Set<S>>();
  #keysOf = new Map<S, string[]>();
  /** Cumulative counters: candidates confirmed with matchFilter, and deliveries found. */
  readonly stats = { examined: 0, matched: 0 };

  /** Number of indexed subscriptions. */
  get size(): number {
    return this.#keysOf.size;
  }

  /** Indexes `sub` (a no-op when it is already indexed). */
  add(sub: S): void {
    if (this.#keysOf.has(sub)) return;
    const keys = [...new Set(sub.filters.flatMap(filterKeys))];
    this.#keysOf.set(sub, keys);
    for (const key of keys) {
      const found = this.#byKey.get(key);
      if (found === undefined) this.#byKey.set(key, sub);
      else if (found instanceof Set) found.add(sub);
      else if (found !== sub) this.#byKey.set(key, new Set([found, sub]));
    }
  }

  /** Removes `sub`; returns false when it was not indexed. */
  remove(sub: S): boolean {
    const keys = this.#keysOf.get(sub);
    if (!keys) return false;
    this.#keysOf.delete(sub);
    for (const key of keys) {
      const found = this.#byKey.get(key);
      if (found === undefined) continue;
      if (!(found instanceof Set)) {
        if (found === sub) this.#byKey.delete(key);
        continue;
      }
      found.delete(sub);
      if (found.size === 1) this.#byKey.set(key, found.values().next().value!);
    }
    return true;
  }

  /** The deduplicated subscriptions filed under a key `e` could satisfy. */
  candidates(e: NostrEvent): Set<S> {
    const out = new Set<S>();
    const byKey = this.#byKey;
    function collect(key: string) {
      const found = byKey.get(key);
      if (found === undefined) return;
      if (found instanceof Set) { for (const sub of found) out.add(sub); }
      else out.add(found);
    }
    collect(`i:${e.id}`);
    collect(`a:${e.pubkey}`);
    for (const t of e.tags) {
      if (t[0]?.length === 1 && t[1] !== undefined) collect(`t:${t[0]}:${t[1]}`);
    }
    collect(`k:${e.kind}`);
    collect(ALL);
    return out;
  }

  /**
   * Matches `e` against the candidates. `searchable` says whether the event's kind is indexed
   * for NIP-50; search filters never match an unsearchable event.
   */
  match(e: NostrEvent, searchable: boolean): MatchResult<S> {
    const direct: S[] = [];
    const search: SearchCandidate<S>[] = [];
    for (const sub of this.candidates(e)) {
      this.stats.examined++;
      let queries: string[] | undefined;
      let hit = false;
      for (const f of sub.filters) {
        if (!matchFilter(f, e)) continue;
        if (f.search === undefined) {
          hit = true;
          break;
        }
        if (searchable) (queries ??= []).push(searchQueryText(f.search));
      }
      if (hit) direct.push(sub);
      else if (queries) search.push({ sub, queries });
    }
    this.stats.matched += direct.length + search.length;
    return { direct, search };
  }
}
