/**
 * One open subscription of one connection and its stored→live boundary: stored events from the
 * worker are sent as they come and remembered; live events that arrive meanwhile are buffered;
 * at EOSE the buffer is flushed minus what the stored phase already sent, and from then on live
 * events go straight out. No event is lost or sent twice across that boundary.
 *
 * @module
 */
import { rawId } from "../lib/nostr/event.ts";
import type { Filter } from "../lib/nostr/filter.ts";
import type { IndexedSubscription } from "./subscriptions.ts";

/** Most live events buffered while the stored phase runs; more drops the subscription. */
export const MAX_LIVE_BUFFER = 10_000;

/**
 * How long after EOSE the ids of stored events are still remembered, so that a live publish of
 * one of them that lost the race against the worker's query reply is not sent a second time.
 */
export const STORED_IDS_GRACE_MS = 10_000;

/** What a stream needs from its connection. */
export interface StreamOwner {
  /** Pubkeys authenticated on the connection (live delivery of DMs checks them). */
  readonly authed: readonly string[];
  /** Sends one frame to the client. */
  send(frame: string): void;
  /** The live buffer overflowed: end the subscription. */
  overflow(stream: SubStream): void;
}

/** A subscription in the live index. `gen` tells its replies from those of a replaced one. */
export class SubStream implements IndexedSubscription {
  /** Set once the subscription is replaced, closed or dropped. */
  closed = false;
  #loading = true;
  // Allocated on first use (memory per idle connection): null means none (yet, or any more).
  #prefix: string | undefined;
  #seen: Set<string> | null = null;
  #seenUntil = Infinity;
  #buffer: { id: string; raw: string }[] | null = null;

  constructor(
    readonly sid: string,
    readonly gen: number,
    readonly filters: readonly Filter[],
    readonly owner: StreamOwner,
    readonly now: () => number = Date.now,
  ) {}

  /** `["EVENT",<sid>,` so that an event frame is one concatenation. */
  get prefix(): string {
    return this.#prefix ??= `["EVENT",${JSON.stringify(this.sid)},`;
  }

  /** True until EOSE was sent. */
  get loading(): boolean {
    return this.#loading;
  }

  /**
   * The ids the stored phase sent (or will have sent, while loading): captured when a live
   * event arrives whose delivery is decided later (NIP-50 search), and passed back to `live`.
   */
  knownIds(): Set<string> | null {
    this.expire(this.now());
    // while loading, the set itself: it goes on growing with the stored batches still to come
    return this.#loading ? this.#seen ??= new Set() : this.#seen;
  }

  /** A batch of stored events (canonical JSON lines); `eose` ends the stored phase. */
  stored(lines: readonly string[], eose: boolean): void {
    if (this.closed || !this.#loading) return;
    const seen = lines.length || this.#buffer ? this.#seen ??= new Set() : this.#seen;
    for (const line of lines) {
      const id = rawId(line);
      if (seen!.has(id)) continue;
      seen!.add(id);
      this.owner.send(this.prefix + line + "]");
    }
    if (!eose) return;
    this.owner.send(`["EOSE",${JSON.stringify(this.sid)}]`);
    const buffered = this.#buffer ?? [];
    this.#buffer = null;
    this.#loading = false;
    this.#seenUntil = this.now() + STORED_IDS_GRACE_MS;
    for (const b of buffered) {
      if (this.closed) return;
      if (seen!.has(b.id)) continue;
      seen!.add(b.id);
      this.owner.send(this.prefix + b.raw + "]");
    }
  }

  /** A live event that matched; `known` is what `knownIds()` returned when it arrived. */
  live(id: string, raw: string, known: Set<string> | null = this.knownIds()): void {
    if (this.closed || known?.has(id)) return;
    if (this.#loading) {
      const buffer = this.#buffer ??= [];
      if (buffer.length >= MAX_LIVE_BUFFER) {
        this.owner.overflow(this);
        return;
      }
      buffer.push({ id, raw });
      return;
    }
    if (this.#seen?.has(id)) return;
    this.owner.send(this.prefix + raw + "]");
  }

  /** Forgets the stored ids once the grace period is over; true when nothing is left to expire. */
  expire(now: number): boolean {
    if (this.#seen && now >= this.#seenUntil) this.#seen = null;
    return !this.#loading && this.#seen === null;
  }
}
