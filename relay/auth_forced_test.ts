/**
 * Forced fast auth (FORCED_MIN_AUTH_LEVEL > 0) against a real web process and Redis: refusals
 * with their close codes, and a connection's messages held until its level is known.
 */
import assert from "node:assert/strict";
import { type NewEventJob, QUEUES } from "../lib/contract.ts";
import { canonicalJson } from "../lib/nostr/event.ts";
import {
  AuthWorker,
  JobTap,
  startTestRelay,
  TestClient,
  type TestRelay,
  waitFor,
} from "./_testing.ts";
import { authEvent, fastAuthUrl, signer } from "./_signing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const RELAY_URL = "wss://relay.test";

let relay: TestRelay;
let worker: AuthWorker;
let events: JobTap<NewEventJob>;
const member = signer();

Deno.test({ name: "setup", ...opts }, async () => {
  relay = await startTestRelay({
    RELAY_URL,
    FORCED_MIN_AUTH_LEVEL: "2",
    AUTHORIZATION_TIMEOUT: "1",
  });
  worker = new AuthWorker(relay);
  worker.levels.set(member.pubkey, 2);
  events = new JobTap(QUEUES.event, relay.config, relay.keys);
});

/** A member's connection: authenticated at level 2, no challenge sent. */
async function connectMember() {
  const e = authEvent(member, RELAY_URL, undefined);
  return await relay.connect({ url: fastAuthUrl(relay.url, e), challenge: false });
}

async function closeOf(client: TestClient): Promise<[number, string]> {
  const ev = await client.closed;
  return [ev.code, ev.reason];
}

Deno.test({ name: "forced: a connection without fast auth is closed 3403", ...opts }, async () => {
  const client = await TestClient.connect(relay.url);
  assert.deepEqual(await closeOf(client), [
    3403,
    "restricted: this relay requires authentication: connect with ?authorization=<signed kind 22242 event>",
  ]);
  assert.equal(client.inbox.length, 0, "no challenge in forced mode");
});

Deno.test({ name: "forced: an invalid fast-auth event is closed 3403", ...opts }, async () => {
  const e = authEvent(member, RELAY_URL, undefined, { kind: 1 });
  const client = await TestClient.connect(fastAuthUrl(relay.url, e));
  assert.deepEqual(await closeOf(client), [
    3403,
    "restricted: fast auth event has errors: kind must be 22242",
  ]);
});

Deno.test({ name: "forced: a level below the minimum is closed 3403", ...opts }, async () => {
  const { client: working } = await connectMember();
  const stranger = signer(); // level 1
  const client = await TestClient.connect(
    fastAuthUrl(relay.url, authEvent(stranger, RELAY_URL, undefined)),
  );
  assert.deepEqual(await closeOf(client), [
    3403,
    "restricted: your account doesn't have required authorization (2)",
  ]);
  working.send(["REQ", "still", { limit: 0 }]);
  assert.deepEqual(await working.next(), ["EOSE", "still"], "the member keeps working");
  await working.close();
});

Deno.test({
  name: "forced: messages wait for the level, then are handled in order",
  ...opts,
  async fn() {
    worker.silent = true;
    const e = authEvent(member, RELAY_URL, undefined);
    let client: TestClient;
    try {
      client = await TestClient.connect(fastAuthUrl(relay.url, e));
      const note = member.sign({ content: "sent before the level was known" });
      client.send(["REQ", "a", { limit: 0 }]);
      client.send("not json");
      client.send(["EVENT", note]);
      client.send(["REQ", "b", { limit: 0 }]);
      client.send(["CLOSE", "b"]);
      client.send(["REQ", "c", { limit: 0 }]);
      const job = await waitFor("the Authorize job", () => {
        return worker.jobs.find((j) => j.event === canonicalJson(e));
      });
      // held: nothing answered while the worker has not answered
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(client.inbox, []);
      await worker.answer(job, 2);
      assert.deepEqual(await client.next(), ["EOSE", "a"]);
      assert.deepEqual(await client.next(), ["NOTICE", "invalid: message is not valid JSON"]);
      assert.deepEqual(await client.next(), ["EOSE", "b"]);
      assert.deepEqual(await client.next(), ["EOSE", "c"]);
      const queued = await events.next();
      assert.deepEqual(queued.data.authed, [member.pubkey]);
      assert.equal(queued.data.event, canonicalJson(note));
    } finally {
      worker.silent = false;
    }
    await client.close();
  },
});

Deno.test({
  name: "forced: no level within AUTHORIZATION_TIMEOUT counts as level 0",
  ...opts,
  async fn() {
    worker.silent = true;
    try {
      const started = Date.now();
      const client = await TestClient.connect(
        fastAuthUrl(relay.url, authEvent(member, RELAY_URL, undefined)),
      );
      client.send(["REQ", "never", { limit: 0 }]);
      assert.deepEqual(await closeOf(client), [
        3403,
        "restricted: your account doesn't have required authorization (2)",
      ]);
      assert.ok(Date.now() - started >= 900, "after the timeout");
      assert.deepEqual(client.inbox, [], "held messages were never handled");
    } finally {
      worker.silent = false;
    }
  },
});

Deno.test({
  name: "forced: a level dropping below the minimum closes the connection",
  ...opts,
  async fn() {
    const { client, cid } = await connectMember();
    await waitFor("the level", async () => {
      return (await relay.redis.hget(relay.keys.authorizations, cid)) === "2";
    });
    await worker.setLevel(cid, member.pubkey, 3);
    await waitFor("the raised level", async () => {
      return (await relay.redis.hget(relay.keys.authorizations, cid)) === "3";
    });
    client.send(["REQ", "up", { limit: 0 }]);
    assert.deepEqual(await client.next(), ["EOSE", "up"]);
    await worker.setLevel(cid, member.pubkey, 1);
    assert.deepEqual(await closeOf(client), [
      3403,
      "restricted: your account doesn't have required authorization (2)",
    ]);
    worker.levels.set(member.pubkey, 2);
  },
});

Deno.test({ name: "forced: a replay closes both connections", ...opts }, async () => {
  const e = authEvent(member, RELAY_URL, undefined);
  const { client: first } = await relay.connect({
    url: fastAuthUrl(relay.url, e),
    challenge: false,
  });
  first.send(["REQ", "ready", { limit: 0 }]);
  assert.deepEqual(await first.next(), ["EOSE", "ready"]);
  const second = await TestClient.connect(fastAuthUrl(relay.url, e));
  const reason = `restricted: event id ${e.id} was used for authentication twice`;
  assert.deepEqual(await closeOf(second), [3403, reason]);
  assert.deepEqual(await closeOf(first), [3403, reason]);
});

Deno.test({ name: "teardown", ...opts }, async () => {
  await Promise.all([worker.close(), events.close()]);
  await relay.stop();
});
