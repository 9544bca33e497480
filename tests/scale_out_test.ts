/**
 * Scale-out: two web processes and two workers, started as real processes exactly as their
 * `deno task` runs them, on one Redis and one PostgreSQL (a database and a Redis prefix of their
 * own). A subscriber on web A receives every event published through web B exactly once, each
 * event is stored once, and the number of Redis connections a web process holds does not grow
 * with its clients (2,000 websockets, each with an open REQ). Every wait is bounded.
 */
import assert from "node:assert/strict";
import { signer, TestClient } from "./_client.ts";
import {
  bounded,
  sharedStores,
  startWebProc,
  startWorkerProc,
  waitUntil,
} from "./faults/_procs.ts";
import { connectPostgres } from "../lib/db.ts";
import type { Redis } from "../lib/redis.ts";

/** Clients opened against one web process for the Redis connection count. */
const MANY_CLIENTS = 2000;

/** Redis clients whose connection name starts with `prefix` (CLIENT LIST). */
async function redisClientsNamed(redis: Redis, prefix: string): Promise<number> {
  const list = await redis.client("LIST") as string;
  return list.split("\n").filter((line) => {
    const name = /(?:^| )name=(\S*)/.exec(line)?.[1];
    return name !== undefined && name.startsWith(prefix);
  }).length;
}

/** Opens `n` websockets to `url` (100 handshakes at a time), each with an open REQ (after EOSE). */
async function openMany(url: string, n: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(
      Array.from(
        { length: Math.min(100, n - i) },
        (_, j) =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(url);
            ws.onerror = () => reject(new Error(`Cannot open client ${i + j}`));
            ws.onopen = () => {
              ws.send(JSON.stringify(["REQ", "idle", { kinds: [1], "#t": [`idle-${i + j}`] }]));
            };
            ws.onmessage = (m) => {
              if (String(m.data).startsWith('["EOSE"')) {
                ws.onmessage = null;
                resolve(ws);
              }
            };
          }),
      ),
    );
    sockets.push(...batch);
  }
  return sockets;
}

async function closeMany(sockets: WebSocket[]): Promise<void> {
  await Promise.all(sockets.map((ws) =>
    new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve();
      ws.onclose = () => resolve();
      ws.close();
    })
  ));
}

Deno.test({
  name: "scale-out - 2 web processes, 2 workers: cross-process delivery once, fixed Redis clients",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using stores = await sharedStores();
    const { env, redis } = stores;
    await using workerOne = await startWorkerProc(env, "worker-1");
    await using workerTwo = await startWorkerProc(env, "worker-2");
    await using webA = await startWebProc(env, "web-a");
    await using webB = await startWebProc(env, "web-b");
    assert.notEqual(webA.node, webB.node);
    assert.ok(workerOne.running && workerTwo.running);

    // A subscriber on A, a publisher on B.
    const topic = `scale-${crypto.randomUUID().slice(0, 8)}`;
    await using subscriber = await TestClient.connect(webA.url);
    assert.deepEqual((await subscriber.req("fan", { kinds: [1], "#t": [topic] })).events, []);
    await using publisher = await TestClient.connect(webB.url);
    const alice = signer();
    const events = Array.from(
      { length: 40 },
      (_, i) => alice.sign({ content: `across ${i}`, tags: [["t", topic]] }),
    );
    for (const e of events) publisher.send(["EVENT", e]);
    for (const e of events) assert.deepEqual((await publisher.ok(e.id)).slice(2), [true, ""]);
    // A last event: once it is delivered, everything published before it has been too.
    const marker = alice.sign({ content: "marker", tags: [["t", topic]] });
    assert.deepEqual((await publisher.publish(marker)).slice(2), [true, ""]);
    await subscriber.live("fan", marker.id);
    await waitUntil(
      () => subscriber.frames.filter((f) => f[0] === "EVENT" && f[1] === "fan").length >= 41,
      10_000,
      "41 live events on web A",
    );
    const delivered = subscriber.frames.filter((f) => f[0] === "EVENT" && f[1] === "fan")
      .map((f) => f[2].id as string);
    for (const e of [...events, marker]) {
      assert.equal(delivered.filter((id) => id === e.id).length, 1, `${e.id} delivered once`);
    }
    assert.equal(delivered.length, 41, "nothing else delivered");
    const sql = connectPostgres(stores.databaseUrl, { max: 1 });
    try {
      const [stored] = await sql`select count(*)::int as n from events`;
      assert.equal(stored!.n, 41, "each event stored once");
    } finally {
      await sql.end();
    }
    // Both workers took NewEvent jobs (BullMQ spreads them): not asserted, it depends on timing.

    // Redis connections of web A stay the same with 2,000 more clients.
    const name = `nostr-web-${webA.node}`;
    const before = await redisClientsNamed(redis, name);
    assert.ok(before >= 2, `web A holds its Redis connections (found ${before})`);
    const many = await bounded(openMany(webA.url, MANY_CLIENTS), 60_000, "2,000 clients");
    try {
      assert.equal(many.filter((ws) => ws.readyState === WebSocket.OPEN).length, MANY_CLIENTS);
      assert.equal(await redisClientsNamed(redis, name), before, "same Redis connections");
      // and they are served: a live event reaches the subscriber on A while the clients idle
      const late = alice.sign({ content: "with 2,000 clients", tags: [["t", topic]] });
      assert.deepEqual((await publisher.publish(late)).slice(2), [true, ""]);
      await subscriber.live("fan", late.id);
    } finally {
      await bounded(closeMany(many), 30_000, "closing 2,000 clients");
    }
    assert.equal(await redisClientsNamed(redis, name), before);
  },
});
