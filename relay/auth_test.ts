/**
 * NIP-42 and (not forced) fast auth against a real web process and Redis, with real signed
 * events; the test plays the worker (AuthWorker answers Authorize jobs with `auth` replies).
 */
import assert from "node:assert/strict";
import { type NewEventJob, type NewSubscriptionJob, QUEUES } from "../lib/contract.ts";
import { canonicalJson } from "../lib/nostr/event.ts";
import {
  assertWorks,
  AuthWorker,
  JobTap,
  startTestRelay,
  TestClient,
  type TestRelay,
  waitFor,
} from "./_testing.ts";
import { authEvent, fastAuthUrl, nowSeconds, signer } from "./_signing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const RELAY_URL = "wss://relay.test";

let relay: TestRelay;
let worker: AuthWorker;
let events: JobTap<NewEventJob>;
let reqs: JobTap<NewSubscriptionJob>;

Deno.test({ name: "setup", ...opts }, async () => {
  relay = await startTestRelay({ RELAY_URL });
  worker = new AuthWorker(relay);
  events = new JobTap(QUEUES.event, relay.config, relay.keys);
  reqs = new JobTap(QUEUES.req, relay.config, relay.keys);
});

Deno.test({ name: "NIP-42: AUTH is answered OK true and recorded in Redis", ...opts }, async () => {
  const { client, cid, challenge } = await relay.connect();
  const { redis, keys } = relay;
  const alice = signer();
  const bob = signer();
  const e = authEvent(alice, RELAY_URL, challenge);
  client.send(["AUTH", e]);
  assert.deepEqual(await client.next(), ["OK", e.id, true, ""]);
  const job = worker.jobs.at(-1)!;
  assert.deepEqual(job, { cid, event: canonicalJson(e) });
  assert.equal(await redis.hget(keys.authentications, cid), alice.pubkey);
  assert.equal(await redis.hget(keys.authorizations, cid), "1");
  assert.equal(await redis.hget(keys.connectionsAuthenticators, cid), e.id);
  assert.deepEqual(await redis.smembers(keys.pubkeyConnections(alice.pubkey)), [cid]);
  assert.equal(await redis.get(keys.events22242(e.id)), cid);
  const ttl = await redis.ttl(keys.events22242(e.id));
  assert.ok(ttl > 0 && ttl <= relay.config.fastAuthWindowSeconds, `ttl ${ttl}`);

  // a second pubkey on the same connection, at a higher level
  worker.levels.set(bob.pubkey, 3);
  const e2 = authEvent(bob, `${RELAY_URL}/`, challenge);
  client.send(["AUTH", e2]);
  assert.deepEqual(await client.next(), ["OK", e2.id, true, ""]);
  assert.equal(await redis.hget(keys.authentications, cid), bob.pubkey, "the last one");
  assert.equal(await redis.hget(keys.authorizations, cid), "3", "the highest level");

  // every job carries the authenticated pubkeys
  const note = alice.sign({ content: "hi" });
  client.send(["EVENT", note]);
  assert.deepEqual((await events.next()).data.authed, [alice.pubkey, bob.pubkey]);
  client.send(["REQ", "s", { kinds: [1] }]);
  assert.deepEqual((await reqs.next()).data.authed, [alice.pubkey, bob.pubkey]);

  await client.close();
  await waitFor("the cleanup", async () => !(await redis.sismember(keys.connections, cid)));
  assert.equal(await redis.scard(keys.pubkeyConnections(alice.pubkey)), 0);
  assert.equal(await redis.scard(keys.pubkeyConnections(bob.pubkey)), 0);
  assert.equal(await redis.hexists(keys.authentications, cid), 0);
  assert.equal(await redis.get(keys.events22242(e.id)), "", "used, connection gone");
  assert.ok((await redis.ttl(keys.events22242(e.id))) > 0, "the window is kept");
});

Deno.test({ name: "NIP-42: invalid AUTH events are refused with OK false", ...opts }, async () => {
  const { client, challenge } = await relay.connect();
  const alice = signer();
  const jobsBefore = worker.jobs.length;
  const cases: [ReturnType<typeof authEvent>, string][] = [
    [
      authEvent(alice, RELAY_URL, "not-the-challenge"),
      "invalid: auth event challenge does not match",
    ],
    [
      authEvent(alice, "wss://elsewhere.example", challenge),
      "invalid: auth event relay tag does not match this relay",
    ],
    [
      authEvent(alice, RELAY_URL, challenge, { created_at: nowSeconds() - 601 }),
      "invalid: auth event created_at is too far from now",
    ],
    [
      authEvent(alice, RELAY_URL, challenge, { kind: 1 }),
      "invalid: auth event must be kind 22242",
    ],
  ];
  for (const [e, reason] of cases) {
    client.send(["AUTH", e]);
    assert.deepEqual(await client.next(), ["OK", e.id, false, reason]);
  }
  const forged = { ...authEvent(alice, RELAY_URL, challenge), content: "x" };
  client.send(["AUTH", forged]);
  assert.deepEqual(await client.next(), [
    "OK",
    forged.id,
    false,
    "invalid: auth event id does not match its content",
  ]);
  assert.equal(worker.jobs.length, jobsBefore, "no Authorize job for any of them");

  // a bad signature is the worker's call
  const good = authEvent(alice, RELAY_URL, challenge);
  const badSig = { ...good, sig: good.sig.replace(/^./, (c) => c === "0" ? "1" : "0") };
  client.send(["AUTH", badSig]);
  assert.deepEqual(await client.next(), [
    "OK",
    good.id,
    false,
    "invalid: signature does not match",
  ]);
  await assertWorks(client);
  client.send(["AUTH", good]);
  assert.deepEqual(await client.next(), ["OK", good.id, true, ""]);
  await client.close();
});

Deno.test({ name: "NIP-42: a second pubkey is refused when restricted", ...opts }, async () => {
  const strict = await startTestRelay({ RELAY_URL, NIP_42_RESTRICT_CHANGE_AUTH_PUBKEY: "true" });
  const strictWorker = new AuthWorker(strict);
  try {
    const { client, cid, challenge } = await strict.connect();
    const [alice, bob] = [signer(), signer()];
    const a = authEvent(alice, RELAY_URL, challenge);
    client.send(["AUTH", a]);
    assert.deepEqual(await client.next(), ["OK", a.id, true, ""]);
    const b = authEvent(bob, RELAY_URL, challenge);
    client.send(["AUTH", b]);
    assert.deepEqual(await client.next(), [
      "OK",
      b.id,
      false,
      "restricted: this connection is already authenticated as another pubkey",
    ]);
    const again = authEvent(alice, RELAY_URL, challenge);
    client.send(["AUTH", again]);
    assert.deepEqual(await client.next(), ["OK", again.id, true, ""], "the same pubkey again");
    assert.equal(await strict.redis.hget(strict.keys.authentications, cid), alice.pubkey);
    await assertWorks(client);
    await client.close();
  } finally {
    await strictWorker.close();
    await strict.stop();
  }
});

Deno.test({
  name: "fast auth: a valid event authenticates, the challenge is still sent",
  ...opts,
  async fn() {
    const alice = signer();
    worker.levels.set(alice.pubkey, 2);
    const e = authEvent(alice, RELAY_URL, undefined);
    const { client, cid, challenge } = await relay.connect({ url: fastAuthUrl(relay.url, e) });
    assert.match(challenge, /^[0-9a-f]{32}$/);
    const { redis, keys } = relay;
    await waitFor("the authentication", async () => {
      return (await redis.hget(keys.authorizations, cid)) === "2";
    });
    assert.equal(await redis.hget(keys.authentications, cid), alice.pubkey);
    assert.equal(await redis.hget(keys.connectionsAuthenticators, cid), e.id);
    assert.equal(await redis.get(keys.events22242(e.id)), cid);
    client.send(["REQ", "mine", { kinds: [1] }]);
    assert.deepEqual((await reqs.next()).data.authed, [alice.pubkey]);
    assert.equal(client.inbox.length, 0, "no OK for fast auth");
    await client.close();
    await waitFor("the key to be released", async () => {
      return (await redis.get(keys.events22242(e.id))) === "";
    });
    assert.ok((await redis.ttl(keys.events22242(e.id))) > 0);
  },
});

Deno.test({
  name: "fast auth: an invalid event closes 3403 with what is wrong",
  ...opts,
  async fn() {
    const alice = signer();
    const { client: other } = await relay.connect();
    const cases: [string, string][] = [
      [
        fastAuthUrl(relay.url, authEvent(alice, "wss://elsewhere.example", undefined)),
        "restricted: fast auth event has errors: relay tag does not match this relay",
      ],
      [
        fastAuthUrl(
          relay.url,
          authEvent(alice, RELAY_URL, undefined, { created_at: nowSeconds() - 61 }),
        ),
        "restricted: fast auth event has errors: created_at is too far from now",
      ],
      [
        fastAuthUrl(relay.url, "{oops"),
        "restricted: fast auth event has errors: authorization is not valid JSON",
      ],
    ];
    for (const [url, reason] of cases) {
      const client = await TestClient.connect(url);
      const closed = await client.closed;
      assert.equal(closed.code, 3403);
      assert.equal(closed.reason, reason);
      assert.equal(client.inbox.length, 0, "no challenge before the close");
    }
    // a bad signature, found by the worker
    const good = authEvent(alice, RELAY_URL, undefined);
    const bad = { ...good, sig: good.sig.replace(/^./, (c) => c === "0" ? "1" : "0") };
    const client = await TestClient.connect(fastAuthUrl(relay.url, bad));
    const closed = await client.closed;
    assert.equal(closed.code, 3403);
    assert.equal(closed.reason, "restricted: fast auth event has errors: signature does not match");
    await assertWorks(other);
    await other.close();
  },
});

Deno.test({
  name: "fast auth: a replayed event closes both connections with 3403",
  ...opts,
  async fn() {
    const alice = signer();
    const { client: bystander } = await relay.connect();
    const e = authEvent(alice, RELAY_URL, undefined);
    const url = fastAuthUrl(relay.url, e);
    const { client: first, cid } = await relay.connect({ url });
    await waitFor("the first authentication", async () => {
      return (await relay.redis.hget(relay.keys.authentications, cid)) === alice.pubkey;
    });
    const second = await TestClient.connect(url);
    const [a, b] = await Promise.all([first.closed, second.closed]);
    const reason = `restricted: event id ${e.id} was used for authentication twice`;
    assert.deepEqual([a.code, a.reason], [3403, reason]);
    assert.deepEqual([b.code, b.reason], [3403, reason]);
    await waitFor("the key to be released", async () => {
      return (await relay.redis.get(relay.keys.events22242(e.id))) === "";
    });
    // once used, the event stays refused for its window, even with nobody left to close
    const third = await TestClient.connect(url);
    const c = await third.closed;
    assert.deepEqual([c.code, c.reason], [3403, reason]);
    // a NIP-42 event cannot be replayed as a fast-auth token either
    const { client, challenge } = await relay.connect();
    const nip42 = authEvent(alice, RELAY_URL, challenge);
    client.send(["AUTH", nip42]);
    assert.deepEqual(await client.next(), ["OK", nip42.id, true, ""]);
    const thief = await TestClient.connect(fastAuthUrl(relay.url, nip42));
    const [t, victim] = await Promise.all([thief.closed, client.closed]);
    const stolen = `restricted: event id ${nip42.id} was used for authentication twice`;
    assert.deepEqual([t.code, t.reason], [3403, stolen]);
    assert.deepEqual([victim.code, victim.reason], [3403, stolen]);
    await assertWorks(bystander);
    await bystander.close();
  },
});

Deno.test({ name: "AUTH is queued as an Authorize job on the auth queue", ...opts }, async () => {
  const { client, challenge } = await relay.connect();
  const e = authEvent(signer(), RELAY_URL, challenge);
  worker.silent = true;
  try {
    client.send(["AUTH", e]);
    const job = await waitFor("the Authorize job", () => {
      return worker.jobs.find((j) => j.event === canonicalJson(e));
    });
    // the connection keeps working while the worker thinks
    await assertWorks(client);
    await worker.answer(job, 4);
    assert.deepEqual(await client.next(), ["OK", e.id, true, ""]);
  } finally {
    worker.silent = false;
  }
  await client.close();
});

Deno.test({ name: "teardown", ...opts }, async () => {
  await Promise.all([worker.close(), events.close(), reqs.close()]);
  await relay.stop();
});
