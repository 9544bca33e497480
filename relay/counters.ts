/**
 * Per-connection traffic counters (`requests`, `incoming_traffic`, `outgoing_traffic`), kept as
 * in-memory deltas and written for all connections at once, one HINCRBY pipeline a second, not
 * one round trip per message.
 *
 * @module
 */
import type { RedisKeys } from "../lib/contract.ts";

interface Delta {
  requests: number;
  incoming: number;
  outgoing: number;
}

/** The part of an ioredis pipeline the counters use. */
export interface CounterPipeline {
  hincrby(key: string, field: string, increment: number): unknown;
  exec(): Promise<unknown>;
}

/** Accumulates counter deltas per connection id. */
export class TrafficCounters {
  #deltas = new Map<string, Delta>();

  #delta(cid: string): Delta {
    let d = this.#deltas.get(cid);
    if (!d) this.#deltas.set(cid, d = { requests: 0, incoming: 0, outgoing: 0 });
    return d;
  }

  /** One message of `bytes` bytes received. */
  received(cid: string, bytes: number): void {
    const d = this.#delta(cid);
    d.requests++;
    d.incoming += bytes;
  }

  /** `bytes` bytes sent. */
  sent(cid: string, bytes: number): void {
    this.#delta(cid).outgoing += bytes;
  }

  /** Drops the pending deltas of a closed connection (its hashes are being deleted). */
  forget(cid: string): void {
    this.#deltas.delete(cid);
  }

  /** Number of connections with unwritten deltas. */
  get pending(): number {
    return this.#deltas.size;
  }

  /** Writes every pending delta in one pipeline; resolves to the number of connections written. */
  async flush(pipeline: () => CounterPipeline, keys: RedisKeys): Promise<number> {
    if (this.#deltas.size === 0) return 0;
    const deltas = this.#deltas;
    this.#deltas = new Map();
    const p = pipeline();
    for (const [cid, d] of deltas) {
      if (d.requests) p.hincrby(keys.requests, cid, d.requests);
      if (d.incoming) p.hincrby(keys.incomingTraffic, cid, d.incoming);
      if (d.outgoing) p.hincrby(keys.outgoingTraffic, cid, d.outgoing);
    }
    await p.exec();
    return deltas.size;
  }
}
