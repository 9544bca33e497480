/**
 * The web process's `/metrics` and `/readyz`, and its drain at shutdown (new EVENT/REQ/COUNT
 * refused, queued EVENTs answered before the sockets close with 1001), with real Redis.
 */
import assert from "node:assert/strict";
import { encodeReply } from "../lib/contract.ts";
import { signer } from "./_signing.ts";
import { startTestRelay, waitFor } from "./_testing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({ name: "/metrics and /readyz of the web process", ...opts }, async () => {
  const relay = await startTestRelay();
  try {
    const base = `http://127.0.0.1:${relay.web.port}`;
    const { client, cid } = await relay.connect();
    client.send(JSON.stringify(["REQ", "s", { kinds: [1] }]));
    client.send("nope");
    await client.next(); // NOTICE for "nope" (the REQ waits for a worker)
    client.send(JSON.stringify(["REQ", "t", { kinds: [1], since: 10, until: 5 }]));
    const closed = await client.next();
    assert.equal(closed[0], "CLOSED");
    // a worker's first reply to the REQ is timed from its enqueueing
    await relay.redis.publish(
      relay.keys.connectionChannel(cid),
      encodeReply({ op: "events", sid: "s", gen: 1, eose: true }),
    );
    await client.next();

    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^nostr_connections_open 1$/m);
    assert.match(text, /^nostr_messages_total\{verb="REQ"\} 1$/m);
    assert.match(text, /^nostr_messages_total\{verb="invalid"\} 2$/m);
    assert.match(text, /^nostr_refusals_total\{frame="CLOSED",prefix="invalid"\} 1$/m);
    assert.match(text, /^nostr_outgoing_bytes_total \d+$/m);
    assert.match(text, /^nostr_queue_jobs\{queue="nostr-req",state="waiting"\} 1$/m);
    assert.match(text, /^nostr_reply_seconds_count\{job="NewSubscription"\} 1$/m);
    assert.match(text, /^# TYPE nostr_event_ok_seconds histogram$/m);

    const ready = await fetch(`${base}/readyz`);
    const body = await ready.json();
    assert.deepEqual(body, {
      status: "ready",
      checks: { redis: "ok", postgres: "ok", queues: "ok" },
    });
    assert.equal(ready.status, 200);
    await client.close();
  } finally {
    await relay.stop();
  }
});

Deno.test(
  { name: "/readyz answers 503 naming PostgreSQL when it is unreachable", ...opts },
  async () => {
    const relay = await startTestRelay({
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/nowhere",
      NIP_86_ENABLED: "false",
    });
    try {
      const res = await fetch(`http://127.0.0.1:${relay.web.port}/readyz`);
      assert.equal(res.status, 503);
      const body = await res.json();
      assert.equal(body.status, "unavailable");
      assert.equal(body.checks.redis, "ok");
      assert.equal(body.checks.queues, "ok");
      assert.notEqual(body.checks.postgres, "ok");
      const health = await fetch(`http://127.0.0.1:${relay.web.port}/healthz`);
      assert.equal(health.status, 200, "/healthz does not depend on the stores");
      await health.body?.cancel();
    } finally {
      await relay.stop();
    }
  },
);

Deno.test({
  name: "shutdown drains: refuses new work, answers queued EVENTs, then closes",
  ...opts,
}, async () => {
  const relay = await startTestRelay();
  const { client, cid } = await relay.connect();
  const alice = signer();
  const queued = alice.sign({ content: "queued before shutdown" });
  client.send(JSON.stringify(["EVENT", queued]));
  await waitFor("the EVENT in the queue", async () => {
    return (await relay.redis.llen(`${relay.keys.bullPrefix}:nostr-event:wait`)) === 1;
  });
  const closing = relay.web.close();
  const late = alice.sign({ content: "sent while draining" });
  client.send(JSON.stringify(["EVENT", late]));
  assert.deepEqual(await client.next(), [
    "OK",
    late.id,
    false,
    "error: relay is shutting down, reconnect",
  ]);
  client.send(JSON.stringify(["REQ", "r", { kinds: [1] }]));
  assert.deepEqual(await client.next(), [
    "CLOSED",
    "r",
    "error: relay is shutting down, reconnect",
  ]);
  // the socket stays open until the queued EVENT is answered
  const t = Date.now();
  await relay.redis.publish(
    relay.keys.connectionChannel(cid),
    encodeReply({ op: "send" }, [JSON.stringify(["OK", queued.id, true, ""])]),
  );
  assert.deepEqual(await client.next(), ["OK", queued.id, true, ""]);
  const ev = await client.closed;
  assert.equal(ev.code, 1001);
  assert.ok(Date.now() - t < 3000, "closed soon after the last OK, not after the drain bound");
  await closing;
  await relay.stop();
});
