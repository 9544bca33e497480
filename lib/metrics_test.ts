import assert from "node:assert/strict";
import { Registry } from "./metrics.ts";

Deno.test("Registry renders counters, gauges and histograms in Prometheus text format", async () => {
  const r = new Registry();
  const c = r.counter("nostr_messages_total", "Messages by verb");
  c.inc({ verb: "EVENT" });
  c.inc({ verb: "EVENT" }, 2);
  r.gauge("nostr_connections", "Open connections").collect(() => [[undefined, 7]]);
  const h = r.histogram("nostr_job_seconds", "Job latency", [0.01, 0.1]);
  h.observe(0.05, { queue: "q" });
  const text = await r.render();
  assert.match(text, /^nostr_messages_total\{verb="EVENT"\} 3$/m);
  assert.match(text, /^# TYPE nostr_connections gauge$/m);
  assert.match(text, /^nostr_connections 7$/m);
  assert.match(text, /^nostr_job_seconds_bucket\{le="0.01",queue="q"\} 0$/m);
  assert.match(text, /^nostr_job_seconds_bucket\{le="0.1",queue="q"\} 1$/m);
  assert.match(text, /^nostr_job_seconds_bucket\{le="\+Inf",queue="q"\} 1$/m);
  assert.match(text, /^nostr_job_seconds_count\{queue="q"\} 1$/m);
});

Deno.test("Registry escapes label values", async () => {
  const r = new Registry();
  r.counter("x_total", "x").inc({ reason: 'a "b"\n' });
  assert.match(await r.render(), /^x_total\{reason="a \\"b\\"\\n"\} 1$/m);
});
