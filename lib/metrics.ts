/**
 * A small Prometheus registry (counters, gauges, histograms) rendered in the text exposition
 * format, so both processes can serve `/metrics` without a dependency.
 *
 * @module
 */

type Labels = Record<string, string | number>;

function labelKey(labels: Labels | undefined): string {
  if (!labels) return "";
  const keys = Object.keys(labels).sort();
  if (!keys.length) return "";
  const body = keys.map((k) =>
    `${k}="${String(labels[k]).replace(/["\\\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`)}"`
  );
  return `{${body.join(",")}}`;
}

/** A monotonically increasing count per label set. */
export class Counter {
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.#values) lines.push(`${this.name}${k} ${v}`);
    return lines.join("\n");
  }
}

/** A value read at scrape time (or set directly) per label set. */
export class Gauge {
  readonly #values = new Map<string, number>();
  #collect?: () => Promise<[Labels | undefined, number][]> | [Labels | undefined, number][];
  constructor(readonly name: string, readonly help: string) {}
  set(value: number, labels?: Labels): void {
    this.#values.set(labelKey(labels), value);
  }
  /** Computes the values at each scrape (replacing any set ones). */
  collect(
    fn: () => Promise<[Labels | undefined, number][]> | [Labels | undefined, number][],
  ): this {
    this.#collect = fn;
    return this;
  }
  async render(): Promise<string> {
    if (this.#collect) {
      this.#values.clear();
      try {
        for (const [labels, v] of await this.#collect()) this.set(v, labels);
      } catch {
        // a failed collection leaves the gauge empty for this scrape
      }
    }
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [k, v] of this.#values) lines.push(`${this.name}${k} ${v}`);
    return lines.join("\n");
  }
}

/** Latency buckets in seconds, from 0.5 ms to 10 s. */
export const LATENCY_BUCKETS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  10,
];

/** Observations bucketed per label set. */
export class Histogram {
  readonly #series = new Map<
    string,
    { buckets: number[]; sum: number; count: number; labels: Labels }
  >();
  constructor(readonly name: string, readonly help: string, readonly bounds = LATENCY_BUCKETS) {}
  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.#series.get(k);
    if (!s) {
      this.#series.set(
        k,
        s = { buckets: this.bounds.map(() => 0), sum: 0, count: 0, labels },
      );
    }
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) s.buckets[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.#series.values()) {
      this.bounds.forEach((b, i) =>
        lines.push(`${this.name}_bucket${labelKey({ ...s.labels, le: b })} ${s.buckets[i]}`)
      );
      lines.push(`${this.name}_bucket${labelKey({ ...s.labels, le: "+Inf" })} ${s.count}`);
      lines.push(`${this.name}_sum${labelKey(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelKey(s.labels)} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** A set of metrics rendered together. */
export class Registry {
  readonly #metrics: (Counter | Gauge | Histogram)[] = [];
  counter(name: string, help: string): Counter {
    const m = new Counter(name, help);
    this.#metrics.push(m);
    return m;
  }
  gauge(name: string, help: string): Gauge {
    const m = new Gauge(name, help);
    this.#metrics.push(m);
    return m;
  }
  histogram(name: string, help: string, bounds?: number[]): Histogram {
    const m = new Histogram(name, help, bounds);
    this.#metrics.push(m);
    return m;
  }
  /** The text exposition of every metric. */
  async render(): Promise<string> {
    const parts = await Promise.all(this.#metrics.map((m) => m.render()));
    return parts.join("\n") + "\n";
  }
}

/** The HTTP response for a scrape. */
export async function metricsResponse(registry: Registry): Promise<Response> {
  return new Response(await registry.render(), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
  });
}
