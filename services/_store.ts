/**
 * Test helper: stores signed events through the worker's real store (workers/store_event.ts).
 *
 * @module
 */
import { canonicalJson, type NostrEvent } from "../lib/nostr/event.ts";
import { storeEvent } from "../workers/store_event.ts";
import type { ServiceDeps } from "./deps.ts";

/** Stores `events` one by one; throws unless each is stored. */
export async function store(deps: ServiceDeps, ...events: NostrEvent[]): Promise<void> {
  for (const e of events) {
    const outcome = await storeEvent(deps.sql, e, {
      raw: canonicalJson(e),
      now: Math.floor(Date.now() / 1000),
      searchLanguage: deps.config.searchLanguage,
      searchKinds: deps.config.searchKinds,
    });
    if (outcome !== "stored") throw new Error(`Cannot store test event: ${outcome}`);
  }
}
