/**
 * Latency statistics computed from raw samples (no histograms, no sampling): percentiles by the
 * nearest-rank method over the sorted samples.
 *
 * @module
 */

/** Summary of a set of latency samples, in milliseconds rounded to 0.01. */
export interface LatencySummary {
  n: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** Rounds to two decimals (the precision every figure in the report uses). */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The nearest-rank percentile `p` (0..100) of ascending `sorted`; null when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  const i = Math.min(sorted.length - 1, Math.max(0, rank - 1));
  return sorted[i] ?? null;
}

/** Summarizes raw samples (ms): count, p50, p90, p99, max and mean. */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) return { n: 0, p50: null, p90: null, p99: null, max: null, mean: null };
  let sum = 0;
  for (const x of sorted) sum += x;
  const pick = (p: number) => round2(percentile(sorted, p) ?? 0);
  return {
    n,
    p50: pick(50),
    p90: pick(90),
    p99: pick(99),
    max: round2(sorted[n - 1] ?? 0),
    mean: round2(sum / n),
  };
}

/** A growable list of float samples without per-sample boxing. */
export class Samples {
  #data = new Float64Array(1024);
  #n = 0;

  /** Appends one sample. */
  push(x: number): void {
    if (this.#n === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#n++] = x;
  }

  /** Number of samples held. */
  get length(): number {
    return this.#n;
  }

  /** The samples as a typed-array view (no copy). */
  values(): Float64Array {
    return this.#data.subarray(0, this.#n);
  }

  /** Summary of the samples held. */
  summary(): LatencySummary {
    return summarize(this.values());
  }
}

/** Counts occurrences of a string key (rejection reasons, close codes, notices). */
export class Tally {
  #counts = new Map<string, number>();

  /** Adds one (or `n`) to `key`. */
  add(key: string, n = 1): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + n);
  }

  /** Sum over all keys. */
  get total(): number {
    let t = 0;
    for (const v of this.#counts.values()) t += v;
    return t;
  }

  /** The counts, largest first, at most `top` keys (the rest summed under "(other)"). */
  toJSON(top = 20): Record<string, number> {
    const sorted = [...this.#counts.entries()].sort((a, b) => b[1] - a[1]);
    const out: Record<string, number> = {};
    for (const [k, v] of sorted.slice(0, top)) out[k] = v;
    const rest = sorted.slice(top).reduce((s, [, v]) => s + v, 0);
    if (rest > 0) out["(other)"] = rest;
    return out;
  }
}

/**
 * Groups a relay's OK/CLOSED/NOTICE message so that messages differing only in numbers or hex
 * (ids, counts, timestamps) land in one bucket.
 */
export function reasonKey(message: string): string {
  return message
    .replace(/[0-9a-f]{16,}/gi, "<hex>")
    .replace(/\d+(\.\d+)?/g, "<n>")
    .slice(0, 120);
}
