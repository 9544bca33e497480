import assert from "node:assert/strict";
import { Worker } from "bullmq";
import { QUEUES } from "../lib/contract.ts";
import { connectRedis } from "../lib/redis.ts";
import {
  discardAllFailed,
  discardJob,
  queueCounts,
  recentFailures,
  retryAllFailed,
  retryJob,
} from "./jobs.ts";
import type { OwnedServiceDeps } from "./deps.ts";
import { serviceSuite } from "./_testing.ts";

const suite = serviceSuite();

/** Adds `n` jobs to the housekeeping queue and lets a worker fail them all. */
async function failJobs(deps: OwnedServiceDeps, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const job = await deps.queues.housekeeping.add("Broken", { i }, { removeOnFail: false });
    ids.push(job.id!);
  }
  const connection = connectRedis(deps.config.redisUrl, { forBullmq: true });
  let failed = 0;
  const done = Promise.withResolvers<void>();
  const worker = new Worker(QUEUES.housekeeping, () => {
    throw new Error("Cannot run: broken on purpose");
  }, { connection, prefix: deps.keys.bullPrefix });
  worker.on("failed", () => {
    if (++failed === n) done.resolve();
  });
  await done.promise;
  await worker.close();
  await connection.quit();
  return ids;
}

suite.test("queueCounts() covers every queue; failures show with their reason", async ({ deps }) => {
  await deps.queues.event.add("NewEvent", { x: 1 });
  const ids = await failJobs(deps, 2);
  const counts = await queueCounts(deps);
  assert.deepEqual(counts.map((c) => c.key), Object.keys(QUEUES));
  const byKey = Object.fromEntries(counts.map((c) => [c.key, c]));
  assert.equal(byKey.event!.waiting, 1);
  assert.equal(byKey.housekeeping!.failed, 2);
  assert.equal(byKey.housekeeping!.name, "nostr-housekeeping");
  const failures = await recentFailures(deps);
  assert.deepEqual(failures.map((f) => f.id).sort(), [...ids].sort());
  assert.equal(failures[0]!.error, "Cannot run: broken on purpose");
  assert.equal(failures[0]!.queue, "housekeeping");
  assert.equal(failures[0]!.attempts, 1);
  assert.equal(failures[0]!.name, "Broken");
  assert.match(failures[0]!.data, /^\{"i":\d\}$/);
  assert.ok(failures[0]!.failedAt! >= failures[1]!.failedAt!);
  assert.equal((await recentFailures(deps, { queue: "event" })).length, 0);
  await deps.queues.event.drain();
});

suite.test("retryJob() moves a failed job back to waiting; discardJob() removes one", async ({ deps }) => {
  await deps.queues.housekeeping.obliterate({ force: true });
  const [a, b] = await failJobs(deps, 2);
  await retryJob(deps, "housekeeping", a!);
  assert.equal(await (await deps.queues.housekeeping.getJob(a!))!.getState(), "waiting");
  await assert.rejects(() => retryJob(deps, "housekeeping", a!), { code: "conflict" });
  await discardJob(deps, "housekeeping", b!);
  assert.equal(await deps.queues.housekeeping.getJob(b!), undefined);
  await assert.rejects(() => discardJob(deps, "housekeeping", b!), { code: "not_found" });
  await assert.rejects(() => retryJob(deps, "nope", "1"), { code: "invalid" });
});

suite.test("retryAllFailed() retries every failed job; discardAllFailed() removes them", async ({ deps }) => {
  await deps.queues.housekeeping.obliterate({ force: true });
  await failJobs(deps, 3);
  assert.equal(await retryAllFailed(deps, "housekeeping"), 3);
  const counts = await deps.queues.housekeeping.getJobCounts("failed", "waiting");
  assert.deepEqual(counts, { failed: 0, waiting: 3 });
  await deps.queues.housekeeping.obliterate({ force: true });
  await failJobs(deps, 2);
  assert.equal(await discardAllFailed(deps), 2);
  assert.equal(await deps.queues.housekeeping.getFailedCount(), 0);
  await deps.queues.housekeeping.obliterate({ force: true });
});

suite.end();
