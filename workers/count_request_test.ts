import assert from "node:assert/strict";
import { UnrecoverableError } from "bullmq";
import { type CountRequestJob, decodeReply } from "../lib/contract.ts";
import type { Filter } from "../lib/nostr/filter.ts";
import { COUNT_REASONS, countRequest } from "./count_request.ts";
import type { ProcessorDeps } from "./deps.ts";
import {
  newCid,
  newSigner,
  nowSeconds,
  wireMessage,
  type WorkerFixture,
  workerSuite,
} from "./_test_helpers.ts";

const suite = workerSuite();
const T = nowSeconds() - 500;
let author: string | undefined;

/** Stores 6 kind-1 and 4 kind-7 events of one author (one kind-1 expires at T + 1000). */
async function seed(fx: WorkerFixture): Promise<string> {
  if (author) return author;
  const s = newSigner();
  for (let i = 0; i < 10; i++) {
    const tags = i === 0 ? [["expiration", String(T + 1000)]] : [["t", i % 2 ? "odd" : "even"]];
    const e = s.sign({ kind: i < 6 ? 1 : 7, created_at: T + i, tags });
    assert.deepEqual(await fx.publish(e), [true, ""]);
  }
  return author = s.pubkey;
}

async function count(fx: WorkerFixture, filters: Filter[], deps: Partial<ProcessorDeps> = {}) {
  const cid = newCid();
  const job: { data: CountRequestJob } = { data: { cid, authed: [], sid: "c1", filters } };
  await countRequest(job, { ...fx.deps, ...deps }).catch(() => {});
  return await fx.replies.next(fx.keys.connectionChannel(cid));
}

suite.test("countRequest() answers the exact count, limits ignored", async (fx) => {
  const a = await seed(fx);
  assert.deepEqual(wireMessage(await count(fx, [{ authors: [a] }])), ["COUNT", "c1", {
    count: 10,
  }]);
  assert.deepEqual(wireMessage(await count(fx, [{ authors: [a], kinds: [1], limit: 2 }])), [
    "COUNT",
    "c1",
    { count: 6 },
  ]);
  assert.deepEqual(wireMessage(await count(fx, [{ "#t": ["odd"], authors: [a] }])), [
    "COUNT",
    "c1",
    { count: 5 },
  ]);
});

suite.test("countRequest() counts each event once across overlapping filters", async (fx) => {
  const a = await seed(fx);
  // kind 7: events 6..9; t=even: events 2, 4, 6, 8; union: 2, 4, 6, 7, 8, 9
  const filters = [{ authors: [a], kinds: [7] }, { authors: [a], "#t": ["even"] }];
  assert.deepEqual(wireMessage(await count(fx, filters)), ["COUNT", "c1", { count: 6 }]);
});

suite.test("countRequest() excludes expired events and matches nothing for empty lists", async (fx) => {
  const a = await seed(fx);
  const later = () => T + 1000;
  assert.deepEqual(wireMessage(await count(fx, [{ authors: [a] }], { now: later })), [
    "COUNT",
    "c1",
    { count: 9 },
  ]);
  assert.deepEqual(wireMessage(await count(fx, [{ authors: [] }, { ids: [] }])), ["COUNT", "c1", {
    count: 0,
  }]);
});

suite.test("countRequest() answers the planner's estimate above the cost threshold", async (fx) => {
  const a = await seed(fx);
  const config = { ...fx.config, countCostThreshold: 1 };
  const [verb, sid, body] = wireMessage(await count(fx, [{ authors: [a] }], { config }));
  assert.equal(verb, "COUNT");
  assert.equal(sid, "c1");
  assert.equal((body as { approximate?: boolean }).approximate, true);
  assert.equal(typeof (body as { count: number }).count, "number");
  const cheap = { ...fx.config, countCostThreshold: 1_000_000 };
  assert.deepEqual(wireMessage(await count(fx, [{ authors: [a] }], { config: cheap })), [
    "COUNT",
    "c1",
    { count: 10 },
  ]);
});

suite.test("countRequest() answers closed on a timeout, a database error or bad filters", async (fx) => {
  await seed(fx);
  const locker = await fx.sql.reserve();
  try {
    await locker`begin`;
    await locker`lock table events in access exclusive mode`;
    const config = { ...fx.config, queryTimeoutMs: 150 };
    const { header } = decodeReply(await count(fx, [{ kinds: [1] }], { config }));
    assert.deepEqual(header, { op: "closed", sid: "c1", gen: 0, reason: COUNT_REASONS.timeout });
  } finally {
    await locker`rollback`;
    locker.release();
  }
  const bad = { ...fx.config, searchLanguage: "no_such_language" };
  const failed = decodeReply(await count(fx, [{ search: "x" }], { config: bad }));
  assert.deepEqual(failed.header, {
    op: "closed",
    sid: "c1",
    gen: 0,
    reason: COUNT_REASONS.failed,
  });
  const cid = newCid();
  const job = { data: { cid, authed: [], sid: "c2", filters: [{ search: "x" }] } };
  await assert.rejects(countRequest(job, { ...fx.deps, config: bad }), UnrecoverableError);
  await fx.replies.next(fx.keys.connectionChannel(cid));
  const invalid = decodeReply(await count(fx, [{ limit: -1 }]));
  assert.deepEqual(invalid.header, {
    op: "closed",
    sid: "c1",
    gen: 0,
    reason: COUNT_REASONS.invalid,
  });
});

suite.end();
