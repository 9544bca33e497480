/**
 * The worker's METRICS_PORT server (a real `deno task worker` and web process): `/healthz`,
 * and `/metrics` with events by kind class and outcome, job duration per queue and queue depth.
 */
import assert from "node:assert/strict";
import { outcomeOf } from "../workers/metrics.ts";
import { signer, TestClient } from "./_client.ts";
import { sharedStores, startWebProc, startWorkerProc } from "./faults/_procs.ts";

Deno.test("outcomeOf() names stored, refusal prefixes and errors", () => {
  assert.equal(outcomeOf(""), "stored");
  assert.equal(outcomeOf("duplicate: already have this event"), "duplicate");
  assert.equal(outcomeOf("blocked: pubkey is banned"), "blocked");
  assert.equal(outcomeOf("odd message"), "refused");
  assert.equal(outcomeOf(undefined), "error");
});

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test({
  name: "worker /metrics and /healthz on METRICS_PORT",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using stores = await sharedStores();
    const port = freePort();
    const env = { ...stores.env, METRICS_PORT: String(port) };
    await using worker = await startWorkerProc(env);
    await worker.waitForLine((l) => l.msg === "worker metrics listening", 5000, "metrics");
    await using web = await startWebProc({ ...stores.env });
    const base = `http://127.0.0.1:${port}`;

    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok");

    await using c = await TestClient.connect(web.url);
    const alice = signer();
    const e = alice.sign({ content: "counted" });
    assert.deepEqual(await c.publish(e), ["OK", e.id, true, ""]);
    assert.equal((await c.publish(e))[3], "duplicate: already have this event");
    const profile = alice.sign({ kind: 0, content: "{}" });
    assert.equal((await c.publish(profile))[2], true);

    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/plain/);
    const text = await res.text();
    const line = (re: RegExp) => assert.match(text, re);
    line(/^nostr_worker_events_total\{kind_class="regular",outcome="stored"\} 1$/m);
    line(/^nostr_worker_events_total\{kind_class="regular",outcome="duplicate"\} 1$/m);
    line(/^nostr_worker_events_total\{kind_class="replaceable",outcome="stored"\} 1$/m);
    line(/^nostr_worker_job_seconds_count\{queue="nostr-event"\} 3$/m);
    line(/^nostr_worker_job_wait_seconds_count\{queue="nostr-event"\} 3$/m);
    line(/^nostr_queue_jobs\{queue="nostr-event",state="waiting"\} 0$/m);
    line(/^nostr_queue_jobs\{queue="nostr-housekeeping",state="delayed"\} \d+$/m);
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  },
});
