/**
 * kill -9 of a web process: the Redis state of its connections (the `connections` SET, the
 * per-connection hashes, subscriptions) is removed by the worker's SweepConnections job, and a
 * second web process keeps serving throughout.
 */
import assert from "node:assert/strict";
import { connectionHashes, nodeOf } from "../../lib/contract.ts";
import { signer, TestClient } from "../_client.ts";
import { sharedStores, startWebProc, startWorkerProc, waitUntil } from "./_procs.ts";

/** Silence after which the sweep declares a node dead (NODE_SILENCE_SECONDS; heartbeats every 5 s). */
const NODE_SILENCE_SECONDS = 6;

Deno.test({
  name: "fault - kill -9 a web process: its connections are swept, the other web process serves",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using stores = await sharedStores();
    const { redis, keys } = stores;
    const env = {
      ...stores.env,
      CONNECTION_SWEEP_SECONDS: "1",
      NODE_SILENCE_SECONDS: String(NODE_SILENCE_SECONDS),
    };
    await using worker = await startWorkerProc(env);
    await using doomed = await startWebProc(env, "web-1");
    await using other = await startWebProc(env, "web-2");
    const alice = signer();

    // Three clients with subscriptions and traffic on the doomed process, one on the other.
    const victims = await Promise.all([1, 2, 3].map(() => TestClient.connect(doomed.url)));
    for (const [i, c] of victims.entries()) {
      await c.req(`s${i}`, { kinds: [1], authors: [alice.pubkey] });
      assert.equal((await c.publish(alice.sign({ content: `from victim ${i}` })))[2], true);
    }
    await using survivor = await TestClient.connect(other.url);
    await survivor.req("keep", { kinds: [1], authors: [alice.pubkey] });

    const ofNode = (node: string, cids: string[]) => cids.filter((c) => nodeOf(c) === node);
    const doomedCids = await waitUntil(
      async () => {
        const cids = ofNode(doomed.node, await redis.smembers(keys.connections));
        const counted = await redis.hmget(keys.requests, ...cids);
        return cids.length === 3 && counted.every((n) => Number(n) >= 2) && cids;
      },
      10_000,
      "the doomed process's connections and counters in Redis",
    );
    const survivorCids = ofNode(other.node, await redis.smembers(keys.connections));
    assert.equal(survivorCids.length, 1);

    doomed.proc.kill("SIGKILL");
    assert.equal((await doomed.proc.exit(5000)).signal, "SIGKILL");
    await Promise.all(victims.map((c) => c.closed()));

    const beat = Number(await redis.hget(keys.nodes, doomed.node));
    assert.ok(beat > 0, "the doomed process had a heartbeat");

    await waitUntil(
      async () => {
        const left = await traces(doomedCids);
        return left.length === 0;
      },
      NODE_SILENCE_SECONDS * 1000 + 10_000,
      "the sweep of the dead process's connections",
    );
    const swept = await worker.waitForLine(
      (l) => l.msg === "swept connections of silent web nodes" && l.nodes?.includes(doomed.node),
      5000,
      "the sweep's log line",
    );
    assert.equal(swept.connections, 3);
    assert.equal(await redis.hexists(keys.nodes, doomed.node), 0, "dead node's heartbeat removed");

    // The other process's state is intact and it keeps serving.
    const kept = await traces(survivorCids);
    const cid = survivorCids[0];
    for (const t of ["connections", "connections_ips", "connections_starts", "client_reqs"]) {
      assert.ok(kept.includes(`${t}:${cid}`), `${t} of the other process's connection kept`);
    }
    assert.ok(kept.includes(`subscriptions:${cid}:keep`));
    assert.equal(await redis.hexists(keys.nodes, other.node), 1);
    await using late = await TestClient.connect(other.url);
    const e = alice.sign({ content: "after the crash" });
    assert.deepEqual(await late.publish(e), ["OK", e.id, true, ""]);
    await survivor.live("keep", e.id);

    async function traces(cids: string[]): Promise<string[]> {
      const found: string[] = [];
      for (const cid of cids) {
        if (await redis.sismember(keys.connections, cid)) found.push(`connections:${cid}`);
        for (const hash of connectionHashes(keys)) {
          if (await redis.hexists(hash, cid)) {
            found.push(`${hash.slice(stores.prefix.length)}:${cid}`);
          }
        }
        const subs = await redis.hkeys(keys.subscriptions);
        for (const f of subs.filter((f) => f.startsWith(`${cid}:`))) {
          found.push(`subscriptions:${f}`);
        }
        if (await redis.exists(keys.clientReqs(cid))) found.push(`client_reqs:${cid}`);
      }
      return found;
    }
  },
});
