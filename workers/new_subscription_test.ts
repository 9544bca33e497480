import assert from "node:assert/strict";
import { UnrecoverableError } from "bullmq";
import { decodeReply, type NewSubscriptionJob, type ReplyHeader } from "../lib/contract.ts";
import { canonicalJson, type NostrEvent } from "../lib/nostr/event.ts";
import type { Filter } from "../lib/nostr/filter.ts";
import { BATCH_LINES, newSubscription, REQ_REASONS } from "./new_subscription.ts";
import { newCid, newSigner, nowSeconds, type WorkerFixture, workerSuite } from "./_test_helpers.ts";

const suite = workerSuite();
const KIND = 4242;
let stored: NostrEvent[] | undefined;

/** 450 events of KIND, stored through NewEvent, newest first. */
async function many(fx: WorkerFixture): Promise<NostrEvent[]> {
  if (stored) return stored;
  const s = newSigner();
  const t = nowSeconds() - 1000;
  const events = Array.from(
    { length: 450 },
    (_, i) => s.sign({ kind: KIND, created_at: t + (i % 300) }),
  );
  for (let i = 0; i < events.length; i += 25) {
    const replies = await Promise.all(events.slice(i, i + 25).map((e) => fx.publish(e)));
    for (const r of replies) assert.deepEqual(r, [true, ""]);
  }
  return stored = events.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1));
}

/** Runs NewSubscription and collects its messages up to eose or closed. */
async function req(
  fx: WorkerFixture,
  filters: Filter[] | unknown,
  deps = fx.deps,
): Promise<{ headers: ReplyHeader[]; lines: string[][] }> {
  const cid = newCid();
  const job: { data: NewSubscriptionJob } = {
    data: { cid, authed: [], sid: "sub1", gen: 7, filters: filters as Filter[] },
  };
  const run = newSubscription(job, deps);
  const headers: ReplyHeader[] = [];
  const lines: string[][] = [];
  for (;;) {
    const reply = decodeReply(await fx.replies.next(fx.keys.connectionChannel(cid)));
    headers.push(reply.header);
    lines.push(reply.lines);
    if (reply.header.op !== "events" || reply.header.eose) break;
  }
  await run.catch(() => {});
  return { headers, lines };
}

suite.test("newSubscription() publishes stored events in batches of 200, the last flagged eose", async (fx) => {
  const events = await many(fx);
  const { headers, lines } = await req(fx, [{ kinds: [KIND], limit: 1000 }]);
  assert.deepEqual(headers, [
    { op: "events", sid: "sub1", gen: 7, eose: false },
    { op: "events", sid: "sub1", gen: 7, eose: false },
    { op: "events", sid: "sub1", gen: 7, eose: true },
  ]);
  assert.deepEqual(lines.map((l) => l.length), [BATCH_LINES, BATCH_LINES, 50]);
  assert.deepEqual(lines.flat(), events.map(canonicalJson), "raw lines unchanged, newest first");
});

suite.test("newSubscription() flags eose on a full last batch", async (fx) => {
  await many(fx);
  const { headers, lines } = await req(fx, [{ kinds: [KIND], limit: 400 }]);
  assert.deepEqual(headers.map((h) => h.op === "events" && h.eose), [false, true]);
  assert.deepEqual(lines.map((l) => l.length), [200, 200]);
});

suite.test("newSubscription() answers an empty result with one eose message", async (fx) => {
  const { headers, lines } = await req(fx, [{ kinds: [KIND + 1] }]);
  assert.deepEqual(headers, [{ op: "events", sid: "sub1", gen: 7, eose: true }]);
  assert.deepEqual(lines, [[]]);
  const none = await req(fx, [{ ids: [] }, { kinds: [1], limit: 0 }]);
  assert.deepEqual(none.headers, [{ op: "events", sid: "sub1", gen: 7, eose: true }]);
});

suite.test("newSubscription() answers closed when the query times out", async (fx) => {
  await many(fx);
  const locker = await fx.sql.reserve();
  try {
    await locker`begin`;
    await locker`lock table events in access exclusive mode`;
    const deps = { ...fx.deps, config: { ...fx.config, queryTimeoutMs: 150 } };
    const { headers } = await req(fx, [{ kinds: [KIND] }], deps);
    assert.deepEqual(headers, [{ op: "closed", sid: "sub1", gen: 7, reason: REQ_REASONS.timeout }]);
  } finally {
    await locker`rollback`;
    locker.release();
  }
});

suite.test("newSubscription() answers closed and fails the job on a database error", async (fx) => {
  const config = { ...fx.config, searchLanguage: "no_such_language" };
  const cid = newCid();
  const job = { data: { cid, authed: [], sid: "s", gen: 1, filters: [{ search: "fox" }] } };
  await assert.rejects(newSubscription(job, { ...fx.deps, config }), UnrecoverableError);
  const { header } = decodeReply(await fx.replies.next(fx.keys.connectionChannel(cid)));
  assert.deepEqual(header, { op: "closed", sid: "s", gen: 1, reason: REQ_REASONS.failed });
});

suite.test("newSubscription() answers closed for filters that are not filters", async (fx) => {
  const { headers } = await req(fx, [{ kinds: "1" }]);
  assert.deepEqual(headers, [{ op: "closed", sid: "sub1", gen: 7, reason: REQ_REASONS.invalid }]);
  const notList = await req(fx, { kinds: [1] });
  assert.deepEqual(notList.headers, [{
    op: "closed",
    sid: "sub1",
    gen: 7,
    reason: REQ_REASONS.invalid,
  }]);
});

suite.end();
