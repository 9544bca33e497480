import assert from "node:assert/strict";
import { type BulkQueue, createBatcher, JOB_OPTIONS } from "./enqueue.ts";

function fakeQueue() {
  const calls: { name: string; data: number; opts?: unknown }[][] = [];
  const release: (() => void)[] = [];
  let fail: Error | undefined;
  const queue: BulkQueue<number> = {
    addBulk(jobs) {
      calls.push(jobs);
      if (fail) return Promise.reject(fail);
      return new Promise<void>((resolve) => release.push(resolve));
    },
  };
  return {
    queue,
    calls,
    releaseAll() {
      for (const r of release.splice(0)) r();
    },
    failWith(err: Error) {
      fail = err;
    },
  };
}

Deno.test("createBatcher() sends the first job on the next microtask", async () => {
  const q = fakeQueue();
  const b = createBatcher(q.queue, "Job", { ready: () => true });
  const done = b.push(1);
  assert.equal(q.calls.length, 0);
  await Promise.resolve();
  assert.deepEqual(q.calls, [[{ name: "Job", data: 1, opts: JOB_OPTIONS }]]);
  q.releaseAll();
  await done;
  await b.drain();
});

Deno.test("createBatcher() groups jobs pushed while a batch is in flight", async () => {
  const q = fakeQueue();
  const b = createBatcher(q.queue, "Job", { ready: () => true });
  const first = b.push(1);
  await Promise.resolve();
  const rest = [2, 3, 4].map((n) => b.push(n));
  await Promise.resolve();
  assert.equal(q.calls.length, 1, "no second round trip while the first is in flight");
  q.releaseAll();
  await first;
  await new Promise<void>((r) => queueMicrotask(r));
  assert.deepEqual(q.calls[1]!.map((j) => j.data), [2, 3, 4]);
  q.releaseAll();
  await Promise.all(rest);
  await b.drain();
});

Deno.test("createBatcher() flushes at once when maxBatch jobs are waiting", () => {
  const q = fakeQueue();
  const b = createBatcher(q.queue, "Job", { ready: () => true, maxBatch: 2 });
  void b.push(1);
  void b.push(2);
  assert.equal(q.calls.length, 1);
  assert.deepEqual(q.calls[0]!.map((j) => j.data), [1, 2]);
  q.releaseAll();
});

Deno.test("createBatcher() rejects every job of a failed batch, and at once when not ready", async () => {
  const q = fakeQueue();
  q.failWith(new Error("connection lost"));
  let ready = true;
  const b = createBatcher(q.queue, "Job", { ready: () => ready });
  await assert.rejects(b.push(1), /connection lost/);
  ready = false;
  await assert.rejects(b.push(2), /Cannot queue job: Redis is not connected/);
  assert.equal(q.calls.length, 1);
});
