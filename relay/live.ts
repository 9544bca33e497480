/**
 * Live delivery: every accepted event arrives once on the live channel; it is parsed once for the
 * whole process, matched against the subscription index and sent to each matching subscription.
 * NIP-50 search filters are confirmed by Postgres, one query per event for all its candidate
 * search filters, off the synchronous path: plain subscriptions are never delayed by them, and
 * search deliveries keep the order in which events arrived. With DM privacy, a kind 4 or 1059
 * event goes only to subscriptions of connections authenticated as its author or a recipient.
 *
 * @module
 */
import { isExpired, type NostrEvent } from "../lib/nostr/event.ts";
import { searchableText } from "../lib/nostr/search.ts";
import type { Sql } from "../lib/db.ts";
import { errorText, type Logger } from "../lib/log.ts";
import { dmVisibleTo, isDirectMessageKind } from "./policies/mod.ts";
import type { SubStream } from "./sub_stream.ts";
import type { SearchCandidate, SubscriptionIndex } from "./subscriptions.ts";

/** Most events whose search confirmation may be pending; more are not search-matched. */
export const MAX_SEARCH_IN_FLIGHT = 1000;

/** Returns the subset of `queries` that match `event` (NIP-50). */
export type SearchMatcher = (event: NostrEvent, queries: string[]) => Promise<Set<string>>;

/** What the live handler needs. */
export interface LiveDeps {
  index: SubscriptionIndex<SubStream>;
  searchKinds: readonly number[];
  search: SearchMatcher;
  /** Serve kinds 4 and 1059 only to their participants (NIP_04_NIP_42_ENFORCE_...). */
  dmPrivacy: boolean;
  log: Logger;
  /** Clock in ms (tests inject one). */
  now?: () => number;
}

/** The Postgres full-text matcher, the same text and query functions the worker indexes with. */
export function postgresSearch(sql: () => Sql, language: string): SearchMatcher {
  return async function matchSearch(event, queries) {
    const rows = await sql()`
      select q from unnest(${queries}::text[]) q
      where to_tsvector(${language}::regconfig, ${searchableText(event)})
        @@ websearch_to_tsquery(${language}::regconfig, q)`;
    return new Set(rows.map((r) => r.q as string));
  };
}

/** Creates the handler of messages on the live channel. */
export function createLiveHandler(deps: LiveDeps): (raw: string) => void {
  const now = deps.now ?? Date.now;
  const searchKinds = new Set(deps.searchKinds);
  let tail: Promise<void> = Promise.resolve();
  let inFlight = 0;

  function confirmSearch(event: NostrEvent, raw: string, candidates: SearchCandidate<SubStream>[]) {
    if (inFlight >= MAX_SEARCH_IN_FLIGHT) {
      deps.log.warn("search matching overloaded, live event not search-matched", { id: event.id });
      return;
    }
    // Capture what each subscription had already sent when the event arrived: it decides
    // duplicates even if the subscription reaches EOSE before Postgres answers.
    const known = candidates.map((c) => c.sub.knownIds());
    const queries = [...new Set(candidates.flatMap((c) => c.queries))];
    inFlight++;
    // Settled at once (never an unhandled rejection); delivered in arrival order through `tail`.
    const result = deps.search(event, queries).then(
      (hits) => ({ hits, error: undefined }),
      (error: unknown) => ({ hits: new Set<string>(), error }),
    );
    tail = tail.then(async function deliverSearchMatches() {
      const { hits, error } = await result;
      inFlight--;
      if (error !== undefined) {
        deps.log.warn("Cannot match live event against search filters", {
          id: event.id,
          error: errorText(error),
        });
        return;
      }
      candidates.forEach((c, i) => {
        if (c.queries.some((q) => hits.has(q))) c.sub.live(event.id, raw, known[i]!);
      });
    }).catch(function deliveryFailed(err: unknown) {
      deps.log.error("Cannot deliver search matches", { id: event.id, error: errorText(err) });
    });
  }

  return function onLiveEvent(raw: string) {
    let event: NostrEvent;
    try {
      event = JSON.parse(raw);
    } catch (err) {
      deps.log.warn("Cannot parse live event", { error: errorText(err) });
      return;
    }
    if (isExpired(event, Math.floor(now() / 1000))) return;
    const { direct, search } = deps.index.match(event, searchKinds.has(event.kind));
    if (deps.dmPrivacy && isDirectMessageKind(event.kind)) {
      for (const sub of direct) if (dmVisibleTo(event, sub.owner.authed)) sub.live(event.id, raw);
      const allowed = search.filter((c) => dmVisibleTo(event, c.sub.owner.authed));
      if (allowed.length) confirmSearch(event, raw, allowed);
      return;
    }
    for (const sub of direct) sub.live(event.id, raw);
    if (search.length) confirmSearch(event, raw, search);
  };
}
