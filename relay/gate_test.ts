/**
 * Per-command levels, exempt kinds, level changes, DM privacy (refusals and live delivery) and
 * NIP-70 against a real web process and Redis; the test plays the worker.
 */
import assert from "node:assert/strict";
import {
  type CountRequestJob,
  encodeReply,
  type NewEventJob,
  type NewSubscriptionJob,
  QUEUES,
} from "../lib/contract.ts";
import { canonicalJson } from "../lib/nostr/event.ts";
import {
  assertWorks,
  AuthWorker,
  type Connected,
  JobTap,
  startTestRelay,
  type TestRelay,
  waitFor,
} from "./_testing.ts";
import { authEvent, type Signer, signer } from "./_signing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const RELAY_URL = "wss://relay.test";

interface World {
  relay: TestRelay;
  worker: AuthWorker;
  events: JobTap<NewEventJob>;
  reqs: JobTap<NewSubscriptionJob>;
  counts: JobTap<CountRequestJob>;
}

let levels: World;
let open: World;

async function world(env: Record<string, string>): Promise<World> {
  const relay = await startTestRelay({ RELAY_URL, ...env });
  return {
    relay,
    worker: new AuthWorker(relay),
    events: new JobTap(QUEUES.event, relay.config, relay.keys),
    reqs: new JobTap(QUEUES.req, relay.config, relay.keys),
    counts: new JobTap(QUEUES.count, relay.config, relay.keys),
  };
}

async function stop(w: World) {
  await Promise.all([w.worker.close(), w.events.close(), w.reqs.close(), w.counts.close()]);
  await w.relay.stop();
}

/** Authenticates `who` on `c` (NIP-42) and waits for OK true. */
async function authenticate(c: Connected, who: Signer) {
  const e = authEvent(who, RELAY_URL, c.challenge);
  c.client.send(["AUTH", e]);
  assert.deepEqual(await c.client.next(), ["OK", e.id, true, ""]);
}

function live(relay: TestRelay, e: ReturnType<Signer["sign"]>) {
  return relay.redis.publish(relay.keys.liveChannel, canonicalJson(e));
}

Deno.test({ name: "setup", ...opts }, async () => {
  levels = await world({
    REQUIRED_AUTH_LEVEL_FOR_REQ: "1",
    REQUIRED_AUTH_LEVEL_FOR_EVENT: "3",
    REQUIRED_AUTH_LEVEL_FOR_COUNT: "2",
  });
  open = await world({});
});

Deno.test({
  name: "levels: anonymous commands get auth-required, exempt kinds pass",
  ...opts,
  async fn() {
    const { relay, events, reqs } = levels;
    const { client } = await relay.connect();
    const alice = signer();
    const note = alice.sign({ content: "members only" });
    client.send(["EVENT", note]);
    assert.deepEqual(await client.next(), [
      "OK",
      note.id,
      false,
      "auth-required: this relay requires authentication for EVENT",
    ]);
    client.send(["REQ", "q", { kinds: [1] }]);
    assert.deepEqual(await client.next(), [
      "CLOSED",
      "q",
      "auth-required: this relay requires authentication for REQ",
    ]);
    client.send(["COUNT", "n", { kinds: [1] }]);
    assert.deepEqual(await client.next(), [
      "CLOSED",
      "n",
      "auth-required: this relay requires authentication for COUNT",
    ]);
    client.send(["REQ", "mixed", { kinds: [10002] }, { kinds: [1] }]);
    assert.deepEqual(await client.next(), [
      "CLOSED",
      "mixed",
      "auth-required: this relay requires authentication for REQ",
    ]);
    client.send(["CLOSE", "q"]); // never needs a level, never answered
    // exempt kind 10002: published and queried without authentication
    const relays = alice.sign({ kind: 10002, tags: [["r", "wss://a.example"]] });
    client.send(["EVENT", relays]);
    assert.equal((await events.next()).data.event, canonicalJson(relays));
    client.send(["REQ", "r", { kinds: [10002], authors: [alice.pubkey] }]);
    assert.equal((await reqs.next()).data.sid, "r");
    await assertWorks(client);
    await client.close();
  },
});

Deno.test({
  name: "levels: below the level gets restricted, a level reply lifts it",
  ...opts,
  async fn() {
    const { relay, worker, events, reqs, counts } = levels;
    const c = await relay.connect();
    const { client, cid } = c;
    const alice = signer();
    await authenticate(c, alice); // level 1
    const note = alice.sign({ content: "hello" });
    client.send(["EVENT", note]);
    assert.deepEqual(await client.next(), [
      "OK",
      note.id,
      false,
      "restricted: your account does not have the required authorization level (3)",
    ]);
    client.send(["COUNT", "n", { kinds: [1] }]);
    assert.deepEqual(await client.next(), [
      "CLOSED",
      "n",
      "restricted: your account does not have the required authorization level (2)",
    ]);
    client.send(["REQ", "q", { kinds: [1] }]);
    assert.deepEqual((await reqs.next()).data.authed, [alice.pubkey], "level 1 may REQ");

    await worker.setLevel(cid, alice.pubkey, 3);
    await waitFor("the new level in Redis", async () => {
      return (await relay.redis.hget(relay.keys.authorizations, cid)) === "3";
    });
    client.send(["EVENT", note]);
    assert.equal((await events.next()).data.event, canonicalJson(note));
    client.send(["COUNT", "n", { kinds: [1] }]);
    assert.deepEqual((await counts.next()).data.authed, [alice.pubkey]);
    await client.close();
  },
});

Deno.test({
  name: "levels: a dropped level closes the subscriptions it no longer allows",
  ...opts,
  async fn() {
    const members = await world({ REQUIRED_AUTH_LEVEL_FOR_REQ: "2" });
    try {
      const { relay, worker } = members;
      const c = await relay.connect();
      const alice = signer();
      worker.levels.set(alice.pubkey, 2);
      await authenticate(c, alice);
      c.client.send(["REQ", "notes", { kinds: [1], limit: 0 }]);
      assert.deepEqual(await c.client.next(), ["EOSE", "notes"]);
      c.client.send(["REQ", "lists", { kinds: [10002], limit: 0 }]);
      assert.deepEqual(await c.client.next(), ["EOSE", "lists"]);
      await worker.setLevel(c.cid, alice.pubkey, 1);
      assert.deepEqual(await c.client.next(), [
        "CLOSED",
        "notes",
        "restricted: your account does not have the required authorization level (2)",
      ]);
      assert.equal(await relay.redis.hget(relay.keys.authorizations, c.cid), "1");
      const list = alice.sign({ kind: 10002 });
      await live(relay, alice.sign({ content: "no longer delivered" }));
      await live(relay, list);
      assert.deepEqual(await c.client.next(), ["EVENT", "lists", list], "exempt one stays");
      await c.client.close();
    } finally {
      await stop(members);
    }
  },
});

Deno.test({
  name: "DM privacy: REQ and COUNT for DMs are refused to non-participants",
  ...opts,
  async fn() {
    const { relay, reqs } = open;
    const [bob, eve] = [signer(), signer()];
    const anon = await relay.connect();
    anon.client.send(["REQ", "dm", { kinds: [4] }]);
    assert.deepEqual(await anon.client.next(), [
      "CLOSED",
      "dm",
      "auth-required: direct messages are only served to their participants",
    ]);
    anon.client.send(["COUNT", "wraps", { kinds: [1059] }]);
    assert.deepEqual(await anon.client.next(), [
      "CLOSED",
      "wraps",
      "auth-required: direct messages are only served to their participants",
    ]);
    await assertWorks(anon.client);

    const snoop = await relay.connect();
    await authenticate(snoop, eve);
    snoop.client.send(["REQ", "dm", { kinds: [4], "#p": [bob.pubkey] }]);
    assert.deepEqual(await snoop.client.next(), [
      "CLOSED",
      "dm",
      "restricted: direct messages are only served to their participants",
    ]);
    snoop.client.send(["REQ", "sent", { kinds: [4, 1059], authors: [bob.pubkey] }]);
    assert.deepEqual(await snoop.client.next(), [
      "CLOSED",
      "sent",
      "restricted: direct messages are only served to their participants",
    ]);
    await assertWorks(snoop.client);

    const recipient = await relay.connect();
    await authenticate(recipient, bob);
    recipient.client.send(["REQ", "mine", { kinds: [4, 1059], "#p": [bob.pubkey] }]);
    const job = (await reqs.next()).data;
    assert.deepEqual([job.sid, job.authed], ["mine", [bob.pubkey]]);
    for (const c of [anon, snoop, recipient]) await c.client.close();
  },
});

Deno.test({
  name: "DM privacy: live DMs reach only their author and recipients",
  ...opts,
  async fn() {
    const { relay, reqs } = open;
    const [alice, bob, eve] = [signer(), signer(), signer()];
    const recipient = await relay.connect();
    await authenticate(recipient, bob);
    const snoop = await relay.connect();
    await authenticate(snoop, eve);
    const anon = await relay.connect();
    const author = await relay.connect();
    await authenticate(author, alice);
    for (const c of [recipient, snoop, anon, author]) {
      // everything (no kinds: no refusal; limit 0: live at once)
      c.client.send(["REQ", "all", { limit: 0 }]);
      assert.deepEqual(await c.client.next(), ["EOSE", "all"]);
    }
    // a snoop may subscribe to kind 4 without naming anyone: it only ever gets its own
    snoop.client.send(["REQ", "dms", { kinds: [4] }]);
    const { gen } = (await reqs.next()).data;
    await relay.redis.publish(
      relay.keys.connectionChannel(snoop.cid),
      encodeReply({ op: "events", sid: "dms", gen, eose: true }),
    );
    assert.deepEqual(await snoop.client.next(), ["EOSE", "dms"]);

    const dm = alice.sign({ kind: 4, tags: [["p", bob.pubkey]], content: "secret?iv=x" });
    const wrap = eve.sign({ kind: 1059, tags: [["p", bob.pubkey]], content: "wrapped" });
    const note = alice.sign({ content: "public" });
    await live(relay, dm);
    await live(relay, wrap);
    await live(relay, note);
    assert.deepEqual(await recipient.client.next(), ["EVENT", "all", dm]);
    assert.deepEqual(await recipient.client.next(), ["EVENT", "all", wrap]);
    assert.deepEqual(await recipient.client.next(), ["EVENT", "all", note]);
    assert.deepEqual(await author.client.next(), ["EVENT", "all", dm]);
    assert.deepEqual(await author.client.next(), ["EVENT", "all", note]);
    // eve authored the gift wrap (a wrap's key is random, but the author may see it)
    const snoopGot = [await snoop.client.next(), await snoop.client.next()];
    assert.deepEqual(snoopGot, [["EVENT", "all", wrap], ["EVENT", "all", note]]);
    assert.deepEqual(await anon.client.next(), ["EVENT", "all", note]);
    for (const c of [recipient, snoop, anon, author]) {
      await assertWorks(c.client);
      await c.client.close();
    }
  },
});

Deno.test({
  name: "NIP-70: a protected event needs its author authenticated",
  ...opts,
  async fn() {
    const { relay, events } = open;
    const [alice, bob] = [signer(), signer()];
    const c = await relay.connect();
    const e = alice.sign({ tags: [["-"]], content: "protected" });
    const refusal = [
      "OK",
      e.id,
      false,
      "auth-required: this event may only be published by its author",
    ];
    c.client.send(["EVENT", e]);
    assert.deepEqual(await c.client.next(), refusal);
    await authenticate(c, bob);
    c.client.send(["EVENT", e]);
    assert.deepEqual(await c.client.next(), refusal);
    await authenticate(c, alice);
    c.client.send(["EVENT", e]);
    const job = (await events.next()).data;
    assert.deepEqual(job, {
      cid: c.cid,
      authed: [bob.pubkey, alice.pubkey],
      event: canonicalJson(e),
    });
    await c.client.close();
  },
});

Deno.test({ name: "teardown", ...opts }, async () => {
  await stop(levels);
  await stop(open);
});
