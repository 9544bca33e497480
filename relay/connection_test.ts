/**
 * Protocol flows against a real web process and Redis; the test plays the worker by consuming
 * the BullMQ queues and publishing replies with encodeReply.
 */
import assert from "node:assert/strict";
import {
  type CountRequestJob,
  encodeReply,
  JOBS,
  type NewEventJob,
  type NewSubscriptionJob,
  QUEUES,
  type ReplyHeader,
} from "../lib/contract.ts";
import { canonicalJson, computeId, type NostrEvent } from "../lib/nostr/event.ts";
import { JobTap, scratchDatabaseUrl, startTestRelay, type TestRelay, waitFor } from "./_testing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function buildEvent(n: number, overrides: Partial<NostrEvent> = {}): NostrEvent {
  const base = {
    pubkey: "a".repeat(64),
    created_at: 1_700_000_000 + n,
    kind: 1,
    tags: [] as string[][],
    content: `note ${n}`,
    ...overrides,
  };
  return { id: computeId(base), ...base, sig: "0".repeat(128) };
}

let relay: TestRelay;
let reqs: JobTap<NewSubscriptionJob>;
let events: JobTap<NewEventJob>;
let counts: JobTap<CountRequestJob>;

function reply(cid: string, header: ReplyHeader, lines: string[] = []) {
  return relay.redis.publish(relay.keys.connectionChannel(cid), encodeReply(header, lines));
}

function live(e: NostrEvent) {
  return relay.redis.publish(relay.keys.liveChannel, canonicalJson(e));
}

Deno.test({ name: "setup", ...opts }, async () => {
  relay = await startTestRelay({
    NIP_11_MAX_SUBSCRIPTIONS: "2",
    DATABASE_URL: scratchDatabaseUrl(),
    NIP_50_DEFAULT_LANGUAGE: "english",
  });
  reqs = new JobTap(QUEUES.req, relay.config, relay.keys);
  events = new JobTap(QUEUES.event, relay.config, relay.keys);
  counts = new JobTap(QUEUES.count, relay.config, relay.keys);
});

Deno.test(
  { name: "EVENT is queued as NewEvent and the worker's OK is forwarded", ...opts },
  async () => {
    const { client, cid } = await relay.connect();
    const e = buildEvent(1);
    client.send(["EVENT", e]);
    const job = await events.next();
    assert.equal(job.name, JOBS.newEvent);
    assert.deepEqual(job.data, { cid, authed: [], event: canonicalJson(e) });
    await reply(cid, { op: "send" }, [JSON.stringify(["OK", e.id, true, ""])]);
    assert.deepEqual(await client.next(), ["OK", e.id, true, ""]);
    await client.close();
  },
);

Deno.test({ name: "EVENT refusals are answered without a job", ...opts }, async () => {
  const { client } = await relay.connect();
  const prot = buildEvent(2, { tags: [["-"]] });
  client.send(["EVENT", prot]);
  assert.deepEqual(await client.next(), [
    "OK",
    prot.id,
    false,
    "auth-required: this event may only be published by its author",
  ]);
  client.send("not json");
  assert.deepEqual(await client.next(), ["NOTICE", "invalid: message is not valid JSON"]);
  client.send(["AUTH", { id: "f".repeat(64) }]);
  assert.deepEqual(await client.next(), [
    "OK",
    "f".repeat(64),
    false,
    "invalid: pubkey is missing",
  ]);
  await client.close();
});

Deno.test(
  { name: "REQ is recorded, queued, and its stored events forwarded", ...opts },
  async () => {
    const { client, cid } = await relay.connect();
    const filters = [{ kinds: [1], limit: 10 }];
    client.send(["REQ", "s1", ...filters]);
    const job = await reqs.next();
    assert.equal(job.name, JOBS.newSubscription);
    assert.deepEqual(job.data, { cid, authed: [], sid: "s1", gen: job.data.gen, filters });
    assert.deepEqual(await relay.redis.smembers(relay.keys.clientReqs(cid)), ["s1"]);
    assert.equal(
      await relay.redis.hget(relay.keys.subscriptions, `${cid}:s1`),
      JSON.stringify(filters),
    );
    const [a, b] = [buildEvent(3), buildEvent(4)];
    const gen = job.data.gen;
    await reply(cid, { op: "events", sid: "s1", gen, eose: false }, [canonicalJson(b)]);
    await reply(cid, { op: "events", sid: "s1", gen, eose: true }, [canonicalJson(a)]);
    assert.deepEqual(await client.next(), ["EVENT", "s1", b]);
    assert.deepEqual(await client.next(), ["EVENT", "s1", a]);
    assert.deepEqual(await client.next(), ["EOSE", "s1"]);
    await client.close();
  },
);

Deno.test({ name: "no event is lost or duplicated across EOSE", ...opts }, async () => {
  const { client, cid } = await relay.connect();
  client.send(["REQ", "b", { authors: ["a".repeat(64)] }]);
  const { gen } = (await reqs.next()).data;
  const [both, liveOnly, storedOnly, after] = [5, 6, 7, 8].map((n) => buildEvent(n));
  await live(both!); // published while loading, also in the stored batch
  await live(liveOnly!);
  await reply(cid, { op: "events", sid: "b", gen, eose: true }, [
    canonicalJson(both!),
    canonicalJson(storedOnly!),
  ]);
  await live(both!); // a late duplicate publish after EOSE
  await live(after!);
  const got = [];
  for (let i = 0; i < 5; i++) got.push(await client.next());
  assert.deepEqual(got, [
    ["EVENT", "b", both],
    ["EVENT", "b", storedOnly],
    ["EOSE", "b"],
    ["EVENT", "b", liveOnly],
    ["EVENT", "b", after],
  ]);
  await client.close();
});

Deno.test(
  { name: "a re-REQ replaces the subscription and drops stale replies", ...opts },
  async () => {
    const { client, cid } = await relay.connect();
    client.send(["REQ", "r", { kinds: [1] }]);
    const first = (await reqs.next()).data;
    client.send(["REQ", "r", { kinds: [7] }]);
    const second = (await reqs.next()).data;
    assert.ok(second.gen > first.gen);
    assert.equal(
      await relay.redis.hget(relay.keys.subscriptions, `${cid}:r`),
      JSON.stringify([{ kinds: [7] }]),
    );
    const stale = buildEvent(9);
    const fresh = buildEvent(10, { kind: 7 });
    await reply(cid, { op: "events", sid: "r", gen: first.gen, eose: true }, [
      canonicalJson(stale),
    ]);
    await reply(cid, { op: "events", sid: "r", gen: second.gen, eose: true }, [
      canonicalJson(fresh),
    ]);
    await live(buildEvent(11)); // kind 1: only the replaced filter matched it
    await live(buildEvent(12, { kind: 7 }));
    assert.deepEqual(await client.next(), ["EVENT", "r", fresh]);
    assert.deepEqual(await client.next(), ["EOSE", "r"]);
    assert.deepEqual(await client.next(), ["EVENT", "r", buildEvent(12, { kind: 7 })]);
    await client.close();
  },
);

Deno.test({ name: "CLOSE stops delivery and removes the Redis records", ...opts }, async () => {
  const { client, cid } = await relay.connect();
  client.send(["REQ", "x", { limit: 0 }]);
  assert.deepEqual(await client.next(), ["EOSE", "x"]);
  client.send(["REQ", "y", { limit: 0 }]);
  assert.deepEqual(await client.next(), ["EOSE", "y"]);
  client.send(["CLOSE", "x"]);
  client.send(["CLOSE", "unknown"]);
  await waitFor("CLOSE to be processed", async () => {
    const sids = await relay.redis.smembers(relay.keys.clientReqs(cid));
    return sids.length === 1 && sids[0] === "y";
  });
  assert.equal(await relay.redis.hexists(relay.keys.subscriptions, `${cid}:x`), 0);
  await live(buildEvent(13));
  assert.deepEqual(await client.next(), ["EVENT", "y", buildEvent(13)]);
  await client.close();
});

Deno.test({ name: "limit 0 gets EOSE at once without a job", ...opts }, async () => {
  const { client } = await relay.connect();
  client.send(["REQ", "zero", { kinds: [1], limit: 0 }, { limit: 0 }]);
  assert.deepEqual(await client.next(), ["EOSE", "zero"]);
  client.send(["REQ", "marker", { kinds: [1] }]);
  assert.equal((await reqs.next()).data.sid, "marker", "the limit-0 REQ made no job");
  await client.close();
});

Deno.test({ name: "subscription limit, worker CLOSED and close replies", ...opts }, async () => {
  const { client, cid } = await relay.connect();
  client.send(["REQ", "1", { limit: 0 }]);
  client.send(["REQ", "2", { kinds: [1] }]);
  client.send(["REQ", "3", { limit: 0 }]);
  assert.deepEqual(await client.next(), ["EOSE", "1"]);
  assert.deepEqual(await client.next(), [
    "CLOSED",
    "3",
    "error: too many open subscriptions, the maximum is 2",
  ]);
  client.send(["REQ", "1", { limit: 0 }]); // replacing is not a new subscription
  assert.deepEqual(await client.next(), ["EOSE", "1"]);
  const { gen } = (await reqs.next()).data;
  await reply(cid, { op: "closed", sid: "2", gen, reason: "error: query timed out" });
  assert.deepEqual(await client.next(), ["CLOSED", "2", "error: query timed out"]);
  await reply(cid, { op: "close", code: 3502, reason: "restricted: closed by the admin" });
  const ev = await client.closed;
  assert.equal(ev.code, 3502);
  assert.equal(ev.reason, "restricted: closed by the admin");
});

Deno.test({ name: "COUNT is queued and its answer forwarded", ...opts }, async () => {
  const { client, cid } = await relay.connect();
  client.send(["COUNT", "c", { kinds: [1] }]);
  const job = await counts.next();
  assert.equal(job.name, JOBS.countRequest);
  assert.deepEqual(job.data, { cid, authed: [], sid: "c", filters: [{ kinds: [1] }] });
  await reply(cid, { op: "send" }, [JSON.stringify(["COUNT", "c", { count: 3 }])]);
  assert.deepEqual(await client.next(), ["COUNT", "c", { count: 3 }]);
  await client.close();
});

Deno.test(
  { name: "live events reach search subscriptions only when they match", ...opts },
  async () => {
    const { client } = await relay.connect();
    client.send(["REQ", "plain", { kinds: [1], limit: 0 }]);
    client.send(["REQ", "find", { kinds: [1, 7], search: "relays", limit: 0 }]);
    assert.deepEqual(await client.next(), ["EOSE", "plain"]);
    assert.deepEqual(await client.next(), ["EOSE", "find"]);
    const miss = buildEvent(20, { content: "nothing to see" });
    const hit = buildEvent(21, { content: "Running relays" });
    const unsearchable = buildEvent(22, { kind: 7, content: "relays" });
    await live(miss);
    await live(unsearchable);
    await live(hit);
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await client.next());
    assert.deepEqual(got.filter((m) => m[1] === "plain"), [
      ["EVENT", "plain", miss],
      ["EVENT", "plain", hit],
    ]);
    assert.deepEqual(got.filter((m) => m[1] === "find"), [["EVENT", "find", hit]]);
    await client.close();
  },
);

Deno.test({ name: "teardown", ...opts }, async () => {
  await Promise.all([reqs.close(), events.close(), counts.close()]);
  await relay.stop();
});
