import assert from "node:assert/strict";
import { type CountRequestJob, decodeReply, type NewSubscriptionJob } from "../lib/contract.ts";
import { type NostrEvent, rawId } from "../lib/nostr/event.ts";
import type { Filter } from "../lib/nostr/filter.ts";
import { countRequest } from "./count_request.ts";
import type { ProcessorDeps } from "./deps.ts";
import { newSubscription } from "./new_subscription.ts";
import {
  newCid,
  newSigner,
  nowSeconds,
  type Signer,
  wireMessage,
  type WorkerFixture,
  workerSuite,
} from "./_test_helpers.ts";

const suite = workerSuite();
const T = nowSeconds() - 100;

interface Data {
  /** a writes to b; c is a third party; w is the one-time key of a gift wrap to b. */
  a: Signer;
  b: Signer;
  c: Signer;
  dmAtoB: NostrEvent;
  dmBtoA: NostrEvent;
  wrapToB: NostrEvent;
  note: NostrEvent;
  reaction: NostrEvent;
}
let data: Data | undefined;

async function dataset(fx: WorkerFixture): Promise<Data> {
  if (data) return data;
  const [a, b, c, w] = [newSigner(), newSigner(), newSigner(), newSigner()];
  const d: Data = {
    a,
    b,
    c,
    dmAtoB: a.sign({ kind: 4, created_at: T, content: "?iv=x", tags: [["p", b.pubkey]] }),
    dmBtoA: b.sign({ kind: 4, created_at: T + 1, content: "?iv=y", tags: [["p", a.pubkey]] }),
    wrapToB: w.sign({ kind: 1059, created_at: T + 2, content: "sealed", tags: [["p", b.pubkey]] }),
    note: a.sign({ kind: 1, created_at: T + 3, tags: [["p", b.pubkey]] }),
    reaction: c.sign({ kind: 7, created_at: T + 4, content: "+", tags: [["p", b.pubkey]] }),
  };
  for (const e of [d.dmAtoB, d.dmBtoA, d.wrapToB, d.note, d.reaction]) {
    assert.deepEqual(await fx.publish(e), [true, ""]);
  }
  return data = d;
}

/** Ids a REQ with `filters` returns to a connection that authenticated `authed`. */
async function req(
  fx: WorkerFixture,
  authed: unknown,
  filters: Filter[],
  deps: Partial<ProcessorDeps> = {},
): Promise<string[]> {
  const cid = newCid();
  const job = { data: { cid, authed, sid: "s", gen: 1, filters } as NewSubscriptionJob };
  await newSubscription(job, { ...fx.deps, ...deps });
  const { header, lines } = decodeReply(await fx.replies.next(fx.keys.connectionChannel(cid)));
  assert.deepEqual(header, { op: "events", sid: "s", gen: 1, eose: true });
  return lines.map(rawId);
}

/** The count a COUNT with `filters` answers to a connection that authenticated `authed`. */
async function count(fx: WorkerFixture, authed: unknown, filters: Filter[]): Promise<number> {
  const cid = newCid();
  const job = { data: { cid, authed, sid: "c", filters } as CountRequestJob };
  await countRequest(job, fx.deps);
  const msg = wireMessage(await fx.replies.next(fx.keys.connectionChannel(cid)));
  return (msg[2] as { count: number }).count;
}

suite.test("newSubscription() serves kind 4 only to its author and its p-tagged recipient", async (fx) => {
  const d = await dataset(fx);
  const both = [d.dmBtoA.id, d.dmAtoB.id];
  assert.deepEqual(await req(fx, [d.a.pubkey], [{ kinds: [4] }]), both);
  assert.deepEqual(await req(fx, [d.b.pubkey], [{ kinds: [4] }]), both);
  assert.deepEqual(await req(fx, [d.c.pubkey], [{ kinds: [4] }]), []);
  assert.deepEqual(await req(fx, [], [{ kinds: [4] }]), []);
  assert.deepEqual(await req(fx, [d.c.pubkey, d.b.pubkey], [{ kinds: [4] }]), both);
  assert.deepEqual(await req(fx, [d.a.pubkey], [{ kinds: [4], authors: [d.a.pubkey] }]), [
    d.dmAtoB.id,
  ]);
  assert.deepEqual(await req(fx, [d.b.pubkey], [{ kinds: [4], "#p": [d.b.pubkey] }]), [
    d.dmAtoB.id,
  ]);
  assert.deepEqual(await req(fx, [d.c.pubkey], [{ kinds: [4], "#p": [d.b.pubkey] }]), []);
  assert.deepEqual(await req(fx, [d.c.pubkey], [{ kinds: [4], authors: [d.a.pubkey] }]), []);
  assert.deepEqual(await req(fx, [d.c.pubkey], [{ ids: [d.dmAtoB.id] }]), []);
  assert.deepEqual(await req(fx, [d.b.pubkey], [{ ids: [d.dmAtoB.id] }]), [d.dmAtoB.id]);
});

suite.test("newSubscription() serves gift wraps (1059) by the same rule", async (fx) => {
  const d = await dataset(fx);
  assert.deepEqual(await req(fx, [d.b.pubkey], [{ kinds: [1059] }]), [d.wrapToB.id]);
  assert.deepEqual(await req(fx, [d.b.pubkey], [{ kinds: [1059], "#p": [d.b.pubkey] }]), [
    d.wrapToB.id,
  ]);
  assert.deepEqual(await req(fx, [d.a.pubkey], [{ kinds: [1059] }]), []);
  assert.deepEqual(await req(fx, [], [{ kinds: [1059], "#p": [d.b.pubkey] }]), []);
  assert.deepEqual(await req(fx, [d.a.pubkey], [{ kinds: [4, 1059] }]), [
    d.dmBtoA.id,
    d.dmAtoB.id,
  ]);
});

suite.test("newSubscription() never leaks DMs through filters without kinds or with other kinds", async (fx) => {
  const d = await dataset(fx);
  const everything = [d.reaction.id, d.note.id, d.wrapToB.id, d.dmBtoA.id, d.dmAtoB.id];
  const publicOnly = [d.reaction.id, d.note.id];
  assert.deepEqual(await req(fx, [], [{}]), publicOnly);
  assert.deepEqual(await req(fx, [d.c.pubkey], [{}]), publicOnly);
  assert.deepEqual(await req(fx, [d.b.pubkey], [{}]), everything);
  assert.deepEqual(await req(fx, [d.a.pubkey], [{}]), [
    d.reaction.id,
    d.note.id,
    ...everything.slice(3),
  ]);
  assert.deepEqual(await req(fx, [], [{ "#p": [d.b.pubkey] }]), publicOnly);
  assert.deepEqual(await req(fx, [d.c.pubkey], [{ authors: [d.a.pubkey] }]), [d.note.id]);
  assert.deepEqual(await req(fx, [d.c.pubkey], [{ kinds: [1, 4, 7] }]), publicOnly);
  assert.deepEqual(await req(fx, [d.c.pubkey], [{ kinds: [4] }, { kinds: [1] }]), [d.note.id]);
  assert.deepEqual(await req(fx, [], [{ kinds: [1], "#p": [d.b.pubkey] }]), [d.note.id]);
});

suite.test("newSubscription() treats an authed value that is not a list of pubkeys as anonymous", async (fx) => {
  const d = await dataset(fx);
  assert.deepEqual(await req(fx, d.b.pubkey, [{ kinds: [4] }]), []);
  assert.deepEqual(await req(fx, [`x${d.b.pubkey}`, 7], [{ kinds: [4] }]), []);
  assert.deepEqual(await req(fx, null, [{}]), [d.reaction.id, d.note.id]);
});

suite.test("countRequest() counts only the DMs the requester may see", async (fx) => {
  const d = await dataset(fx);
  assert.equal(await count(fx, [], [{ kinds: [4] }]), 0);
  assert.equal(await count(fx, [d.c.pubkey], [{ kinds: [4, 1059] }]), 0);
  assert.equal(await count(fx, [d.a.pubkey], [{ kinds: [4] }]), 2);
  assert.equal(await count(fx, [d.b.pubkey], [{ kinds: [4, 1059] }]), 3);
  assert.equal(await count(fx, [], [{}]), 2);
  assert.equal(await count(fx, [d.c.pubkey], [{ "#p": [d.b.pubkey] }]), 2);
  assert.equal(await count(fx, [d.b.pubkey], [{ "#p": [d.b.pubkey] }]), 4);
});

suite.test("newSubscription() serves every DM to anyone with DM privacy off", async (fx) => {
  const d = await dataset(fx);
  const config = { ...fx.config, dmPrivacy: false };
  assert.deepEqual(await req(fx, [], [{ kinds: [4, 1059] }], { config }), [
    d.wrapToB.id,
    d.dmBtoA.id,
    d.dmAtoB.id,
  ]);
});

suite.end();
