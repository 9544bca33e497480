/**
 * kill -9 of a worker in the middle of a burst of EVENTs: nothing acknowledged is lost, nothing is
 * stored twice, and the jobs the dead worker held are picked up by the surviving worker once
 * their BullMQ lock expires (stalled jobs).
 */
import assert from "node:assert/strict";
import { QUEUES } from "../../lib/contract.ts";
import { connectPostgres } from "../../lib/db.ts";
import { signer, TestClient } from "../_client.ts";
import { liveCounter, OkLog } from "./_oks.ts";
import { sharedStores, startWebProc, startWorkerProc } from "./_procs.ts";

const EVENTS = 500;
/**
 * How long the dead worker's jobs may take to come back. With WORKER_LOCK_DURATION_MS=2000 this
 * is a few seconds; with BullMQ's defaults (30 s lock, 30 s stalled check, one check per
 * interval across all workers) it is 30 to 60 s after the kill.
 */
const STALL_BOUND_MS = 75_000;

Deno.test({
  name: "fault - kill -9 a worker mid-burst: acknowledged events kept once, stalled jobs resumed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using stores = await sharedStores();
    const env = {
      ...stores.env,
      WORKER_CONCURRENCY: "4",
      WORKER_EVENT_CONCURRENCY: "4",
      // A short BullMQ lock (and stalled check) so stalled jobs return within seconds.
      WORKER_LOCK_DURATION_MS: "2000",
    };
    await using victim = await startWorkerProc(env, "worker-a");
    await using survivor = await startWorkerProc(env, "worker-b");
    await using web = await startWebProc(env);

    const authors = [signer(), signer(), signer(), signer()];
    const events = Array.from(
      { length: EVENTS },
      (_, i) =>
        authors[i % authors.length]!.sign({ content: `burst ${i}`, tags: [["t", "burst"]] }),
    );
    const ids = events.map((e) => e.id);

    await using watcher = await TestClient.connect(web.url);
    const live = liveCounter(watcher, "live");
    watcher.send(["REQ", "live", { authors: authors.map((a) => a.pubkey), limit: 0 }]);
    await watcher.next((f) => f[0] === "EOSE" && f[1] === "live");

    await using pub = await TestClient.connect(web.url);
    const oks = new OkLog(pub);
    for (const e of events) pub.send(["EVENT", e]);
    await oks.until(() => oks.size >= 25, 20_000, "the burst to start");
    victim.kill("SIGKILL");
    const killed = await victim.exit(5000);
    const answeredAtKill = oks.size;
    assert.equal(killed.signal, "SIGKILL");
    assert.ok(answeredAtKill < EVENTS, "the kill must land mid-burst");

    // The jobs active at the kill: the dead worker's (stalled) and the survivor's.
    const bull = `${stores.keys.bullPrefix}:${QUEUES.event}`;
    const activeIds = await stores.redis.lrange(`${bull}:active`, 0, -1);
    const activeEvents: string[] = [];
    for (const jobId of activeIds) {
      const data = await stores.redis.hget(`${bull}:${jobId}`, "data");
      if (data) activeEvents.push(JSON.parse(JSON.parse(data).event).id);
    }
    assert.ok(activeEvents.length > 0, "jobs were active when the worker died");

    // Every event gets an answer on the same connection, the stalled ones included.
    await oks.all(ids, STALL_BOUND_MS);
    assert.ok(survivor.running, `the surviving worker is still up${survivor.tail()}`);

    const stream = await stores.redis.xrange(`${bull}:events`, "-", "+");
    const stalled = stream.filter(([, f]) => f[0] === "event" && f[1] === "stalled");
    assert.ok(stalled.length > 0, "BullMQ reported the dead worker's jobs as stalled");
    const failed = await stores.redis.zcard(`${bull}:failed`);
    assert.equal(failed, 0, "no job failed (none stalled more than allowed)");
    for (const id of activeEvents) assert.ok(oks.answers.has(id), `active job ${id} answered`);

    // What is stored: each event once; every OK true and every duplicate: among them.
    const rows = await storedIds(stores.databaseUrl);
    assert.equal(new Set(rows).size, rows.length, "no event stored twice");
    const stored = new Set(rows);
    for (const id of ids) {
      const first = oks.first(id)!;
      if (first.ok || first.msg.startsWith("duplicate:")) {
        assert.ok(stored.has(id), `answered ${JSON.stringify(first)} but not stored: ${id}`);
      } else {
        assert.match(first.msg, /^error: /, `unexpected answer for ${id}`);
      }
    }
    // Anything answered error: is resent: it must end up stored once, like the rest.
    const retry = ids.filter((id) => !stored.has(id));
    if (retry.length) {
      await using again = await TestClient.connect(web.url);
      const oks2 = new OkLog(again);
      for (const e of events.filter((e) => retry.includes(e.id))) again.send(["EVENT", e]);
      await oks2.all(retry, 20_000);
      for (const id of retry) {
        assert.match(oks2.first(id)!.ok ? "" : oks2.first(id)!.msg, /^(|duplicate: .*)$/);
      }
    }
    const final = await storedIds(stores.databaseUrl);
    assert.equal(final.length, EVENTS);
    assert.deepEqual(new Set(final), new Set(ids));
    for (const [id, n] of live) assert.equal(n, 1, `live subscribers got ${id} ${n} times`);
  },
});

async function storedIds(url: string): Promise<string[]> {
  const sql = connectPostgres(url, { max: 1 });
  try {
    const rows = await sql<{ id: string }[]>`select encode(event_id, 'hex') as id from events`;
    return rows.map((r) => r.id);
  } finally {
    await sql.end();
  }
}
