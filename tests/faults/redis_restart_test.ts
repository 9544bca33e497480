/**
 * Redis killed and restarted (empty: no persistence) while clients are connected: the web
 * process stays up and answers /healthz, an EVENT during the outage is refused with `error:`
 * rather than left hanging, neither process spins or crashes, and afterwards clients publish
 * and receive live events again (on their old connection, or after reconnecting when the relay
 * closed it with a reason).
 */
import assert from "node:assert/strict";
import { connectRedis } from "../../lib/redis.ts";
import { signer, TestClient } from "../_client.ts";
import { OkLog } from "./_oks.ts";
import {
  bounded,
  healthy,
  PrivateRedis,
  sharedStores,
  startWebProc,
  startWorkerProc,
  waitUntil,
} from "./_procs.ts";

/** Longest wait for an answer while Redis is down. */
const OUTAGE_ANSWER_MS = 5000;
/** Longest time for the relay to serve again once Redis is back. */
const RECOVERY_MS = 20_000;

Deno.test({
  name: "fault - restart Redis under connected clients: web stays up, clients publish again",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using redis = new PrivateRedis();
    await redis.start();
    await using stores = await sharedStores();
    const env = { ...stores.env, REDIS_URL: redis.url };
    await using worker = await startWorkerProc(env);
    await using web = await startWebProc(env);
    const alice = signer();

    let listener = await TestClient.connect(web.url);
    await listener.req("live", { kinds: [1], authors: [alice.pubkey] });
    const pub = await TestClient.connect(web.url);
    const before = alice.sign({ content: "before the outage" });
    assert.deepEqual(await pub.publish(before), ["OK", before.id, true, ""]);
    await listener.live("live", before.id);

    const housekeepingRepeat = `${stores.keys.bullPrefix}:nostr-housekeeping:repeat`;
    const cidsBefore = await (async () => {
      const r = connectRedis(redis.url);
      try {
        assert.equal(await r.exists(housekeepingRepeat), 1, "housekeeping is scheduled");
        return await r.smembers(stores.keys.connections);
      } finally {
        r.disconnect();
      }
    })();
    assert.equal(cidsBefore.length, 2);
    await redis.stop("SIGKILL");
    const outageStart = Date.now();
    const [webCpu0, workerCpu0] = [await web.proc.cpuSeconds(), await worker.cpuSeconds()];

    // While Redis is down: /healthz answers; an EVENT gets an answer, not silence.
    assert.ok(await healthy(web.httpUrl), "/healthz answers during the outage");
    const during = alice.sign({ content: "during the outage" });
    const duringOks = new OkLog(pub);
    pub.send(["EVENT", during]);
    const closedDuring = await bounded(
      Promise.race([
        duringOks.until(() => duringOks.answers.has(during.id), OUTAGE_ANSWER_MS, "OK").then(
          () => undefined,
        ),
        pub.closed(),
      ]),
      OUTAGE_ANSWER_MS,
      "an answer to an EVENT while Redis is down",
    );
    if (closedDuring) assert.ok(closedDuring.reason, "a close during the outage has a reason");
    else {
      const a = duringOks.first(during.id)!;
      assert.equal(a.ok, false);
      assert.match(a.msg, /^error: /);
    }

    if (listener.socket.readyState === WebSocket.OPEN) {
      listener.send(["REQ", "down", { kinds: [1] }]);
      const end = await listener.next(
        (f) => (f[0] === "CLOSED" || f[0] === "EOSE") && f[1] === "down",
        OUTAGE_ANSWER_MS,
      );
      assert.equal(end[0], "CLOSED");
      assert.match(end[2], /^error: /);
    }

    // Neither process spins while it cannot reach Redis (measured over at least 2 s).
    await waitUntil(() => Date.now() - outageStart >= 2000, 5000, "2 s of outage");
    const seconds = (Date.now() - outageStart) / 1000;
    const webLoad = (await web.proc.cpuSeconds() - webCpu0) / seconds;
    const workerLoad = (await worker.cpuSeconds() - workerCpu0) / seconds;
    assert.ok(webLoad < 0.5, `web process used ${(webLoad * 100).toFixed(0)}% CPU`);
    assert.ok(workerLoad < 0.5, `worker used ${(workerLoad * 100).toFixed(0)}% CPU`);

    await redis.start();

    // Clients still open keep working; closed ones reconnect. Either way, publishing works.
    const publisher = pub.socket.readyState === WebSocket.OPEN
      ? pub
      : await TestClient.connect(web.url);
    if (listener.socket.readyState !== WebSocket.OPEN) {
      listener = await TestClient.connect(web.url);
      await listener.req("live", { kinds: [1], authors: [alice.pubkey] });
    }
    const after = await waitUntil(
      async () => {
        const e = alice.sign({ content: "after the outage" });
        const ok = await publisher.publish(e);
        return ok[2] === true && e;
      },
      RECOVERY_MS,
      "an EVENT accepted after Redis came back",
      250,
    );
    await listener.live("live", after.id);

    // A new client is served end to end, and the heartbeat is back in the new Redis.
    await using fresh = await TestClient.connect(web.url);
    const last = alice.sign({ content: "new connection" });
    assert.deepEqual(await fresh.publish(last), ["OK", last.id, true, ""]);
    const found = await fresh.query("q", { ids: [before.id, last.id] });
    assert.deepEqual(found.events.map((e) => e.id).sort(), [before.id, last.id].sort());
    const r = connectRedis(redis.url);
    try {
      await waitUntil(
        async () => (await r.hexists(stores.keys.nodes, web.node)) === 1,
        10_000,
        "the web process's heartbeat in the restarted Redis",
      );
      // The rest of the state is rebuilt after Redis lost it: the web process writes its open
      // connections and their subscriptions again, the worker re-creates the housekeeping
      // schedulers (FAULT_REDIS_REBUILD=0 skips this check).
      if (Deno.env.get("FAULT_REDIS_REBUILD") !== "0") {
        await waitUntil(
          async () => {
            const now = await r.smembers(stores.keys.connections);
            const subs = await r.hkeys(stores.keys.subscriptions);
            const repeat = await r.exists(housekeepingRepeat);
            const ips = await r.hmget(stores.keys.connectionsIps, ...cidsBefore);
            const starts = await r.hmget(stores.keys.connectionsStarts, ...cidsBefore);
            return cidsBefore.every((c) => now.includes(c)) && subs.length >= 1 &&
              repeat === 1 && [...ips, ...starts].every((v) => v !== null);
          },
          15_000,
          "connections, subscriptions and schedulers back in Redis",
        );
      }
    } finally {
      r.disconnect();
    }
    assert.ok(web.proc.running && worker.running, "no process crashed");
    assert.ok(await healthy(web.httpUrl));
    await listener.close();
    await publisher.close();
    await pub.close();
  },
});
