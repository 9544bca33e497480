/**
 * Connection paths that need a controlled world: failing Redis, a slow socket, overflow, idle,
 * a rate limiter answering out of order or not at all, admission before the handshake ends.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { redisKeys } from "../lib/contract.ts";
import { computeId, type NostrEvent } from "../lib/nostr/event.ts";
import { createLogger } from "../lib/log.ts";
import type { Redis } from "../lib/redis.ts";
import { type Admission, Connection, type ConnectionDeps, TOO_MANY_WAITING } from "./connection.ts";
import { MAX_WAITING_MESSAGES } from "./inbox.ts";
import { TrafficCounters } from "./counters.ts";
import type { JobBatcher } from "./enqueue.ts";
import { defaultPolicies, type Verdict } from "./policies/mod.ts";
import { MAX_LIVE_BUFFER, type SubStream } from "./sub_stream.ts";
import { SubscriptionIndex } from "./subscriptions.ts";

class FakeSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  sent: string[] = [];
  closedWith: [number, string] | undefined;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  send(frame: string) {
    this.sent.push(frame);
  }
  close(code: number, reason: string) {
    this.closedWith = [code, reason];
    this.readyState = WebSocket.CLOSED;
  }
  get frames(): unknown[][] {
    return this.sent.map((f) => JSON.parse(f));
  }
}

/** An ioredis stand-in whose commands and pipelines accept anything and succeed. */
function fakeRedis(): Redis {
  function pipeline(): unknown {
    const p: unknown = new Proxy({}, {
      get: (_t, key) => key === "exec" ? () => Promise.resolve([]) : () => p,
    });
    return p;
  }
  return new Proxy({ pipeline }, {
    get: (t, key) => key === "pipeline" ? t.pipeline : () => Promise.resolve(0),
  }) as unknown as Redis;
}

function failing<T>(): JobBatcher<T> {
  return {
    push: () => Promise.reject(new Error("Cannot queue job: Redis is not connected")),
    drain: () => Promise.resolve(),
  };
}

async function setup(env: Record<string, string> = {}, over: Partial<ConnectionDeps> = {}) {
  const config = loadConfig({ MAX_OUTGOING_BYTES: "65536", IDLE_TIMEOUT_SECONDS: "60", ...env });
  const index = new SubscriptionIndex<SubStream>();
  const deps: ConnectionDeps = {
    config,
    log: createLogger("test", "error"),
    keys: redisKeys("t."),
    redis: fakeRedis(),
    index,
    counters: new TrafficCounters(),
    jobs: { event: failing(), req: failing(), count: failing(), auth: failing() },
    connections: new Map(),
    maxSubscriptions: config.maxSubscriptions,
    admit: () => Promise.resolve({ unlimited: false }),
    policies: defaultPolicies(config),
    ...over,
  };
  const socket = new FakeSocket();
  const conn = new Connection(socket as unknown as WebSocket, "c".repeat(32), "127.0.0.1", deps);
  socket.onopen!();
  await conn.ready;
  socket.sent.length = 0; // the AUTH challenge
  return { conn, socket, index, deps };
}

function flush() {
  return new Promise((r) => setTimeout(r, 0));
}

function buildEvent(): NostrEvent {
  const base = { pubkey: "a".repeat(64), created_at: 1, kind: 1, tags: [], content: "x" };
  return { id: computeId(base), ...base, sig: "0".repeat(128) };
}

Deno.test("Connection answers a failed enqueue with an error for EVENT, REQ and COUNT", async () => {
  const { conn, socket, index } = await setup();
  const e = buildEvent();
  conn.receive(JSON.stringify(["EVENT", e]));
  conn.receive(JSON.stringify(["REQ", "s", { kinds: [1] }]));
  conn.receive(JSON.stringify(["COUNT", "c", { kinds: [1] }]));
  await flush();
  assert.deepEqual(socket.frames, [
    ["OK", e.id, false, "error: could not queue the event, try again"],
    ["CLOSED", "s", "error: could not queue the subscription, try again"],
    ["CLOSED", "c", "error: could not queue the count, try again"],
  ]);
  assert.equal(index.size, 0, "the failed subscription left the live index");
  assert.equal(conn.subs.size, 0);
});

Deno.test("Connection closes a slow reader with 1008 and sends nothing more", async () => {
  const { conn, socket, deps } = await setup();
  conn.send('["NOTICE","a"]');
  assert.equal(socket.closedWith, undefined);
  socket.bufferedAmount = 65537;
  conn.send('["NOTICE","b"]');
  assert.deepEqual(socket.closedWith, [1008, "error: client is reading too slowly"]);
  assert.equal(conn.closed, true);
  assert.equal(deps.connections.size, 0);
  conn.send('["NOTICE","c"]');
  assert.equal(socket.sent.length, 2);
});

Deno.test("Connection drops a subscription whose live buffer overflows while loading", async () => {
  const { conn, socket, index, deps } = await setup();
  deps.jobs.req = { push: () => new Promise(() => {}), drain: () => Promise.resolve() };
  conn.receive(JSON.stringify(["REQ", "busy", { kinds: [1] }]));
  const [stream] = index.candidates(buildEvent());
  for (let i = 0; i <= MAX_LIVE_BUFFER; i++) stream!.live(i.toString(16).padStart(64, "0"), "{}");
  assert.deepEqual(socket.frames, [
    ["CLOSED", "busy", "error: too many live events while loading, subscribe again"],
  ]);
  assert.equal(index.size, 0);
  assert.equal(conn.subs.size, 0);
});

Deno.test("Connection.tick() closes a connection idle for too long with 1000", async () => {
  const { conn, socket } = await setup({ IDLE_TIMEOUT_SECONDS: "60" });
  conn.tick(conn.lastMessageAt + 60_000);
  assert.equal(socket.closedWith, undefined);
  conn.tick(conn.lastMessageAt + 60_001);
  assert.deepEqual(socket.closedWith, [1000, "error: idle for too long"]);
});

Deno.test("Connection.tick() never closes when the idle timeout is 0", async () => {
  const { conn, socket } = await setup({ IDLE_TIMEOUT_SECONDS: "0" });
  conn.tick(conn.lastMessageAt + 1e9);
  assert.equal(socket.closedWith, undefined);
});

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => resolve = res);
  return { promise, resolve };
}

Deno.test("Connection handles rate-limited messages in arrival order, whatever Redis does", async () => {
  const answers: ReturnType<typeof deferred<Verdict>>[] = [];
  const { conn, socket } = await setup({}, {
    rateLimit: () => {
      const d = deferred<Verdict>();
      answers.push(d);
      return d.promise;
    },
  });
  conn.receive(JSON.stringify(["REQ", "a", { limit: 0 }]));
  conn.receive("nope");
  conn.receive(JSON.stringify(["REQ", "b", { limit: 0 }]));
  conn.receive(JSON.stringify(["REQ", "c", { limit: 0 }]));
  assert.equal(answers.length, 4, "every check started at once (pipelined)");
  answers[3]!.resolve({ ok: true });
  answers[2]!.resolve({ ok: false, reason: "rate-limited: slow down" });
  answers[1]!.resolve({ ok: true });
  await flush();
  assert.deepEqual(socket.frames, [], "nothing before the first answer");
  answers[0]!.resolve({ ok: true });
  await flush();
  assert.deepEqual(socket.frames, [
    ["EOSE", "a"],
    ["NOTICE", "invalid: message is not valid JSON"],
    ["CLOSED", "b", "rate-limited: slow down"],
    ["EOSE", "c"],
  ]);
});

Deno.test("Connection refuses at once what would overflow its inbox", async () => {
  const { conn, socket } = await setup({}, { rateLimit: () => new Promise(() => {}) });
  for (let i = 0; i < MAX_WAITING_MESSAGES; i++) conn.receive(JSON.stringify(["CLOSE", "x"]));
  assert.deepEqual(socket.frames, []);
  const e = buildEvent();
  conn.receive(JSON.stringify(["EVENT", e]));
  conn.receive(JSON.stringify(["REQ", "late", { limit: 0 }]));
  assert.deepEqual(socket.frames, [
    ["OK", e.id, false, TOO_MANY_WAITING],
    ["CLOSED", "late", TOO_MANY_WAITING],
  ]);
});

Deno.test("Connection skips the rate limit for an unlimited IP", async () => {
  let calls = 0;
  const { conn, socket } = await setup({}, {
    admit: () => Promise.resolve({ unlimited: true }),
    rateLimit: () => {
      calls++;
      return Promise.resolve({ ok: true });
    },
  });
  conn.receive(JSON.stringify(["REQ", "a", { limit: 0 }]));
  assert.deepEqual(socket.frames, [["EOSE", "a"]], "handled synchronously");
  assert.equal(calls, 0);
});

Deno.test("Connection holds messages until admitted, and drops them when refused", async () => {
  const config = loadConfig({});
  for (const refusal of [undefined, { code: 3503, reason: "restricted: busy" }]) {
    const admission = deferred<Admission>();
    const deps: ConnectionDeps = {
      config,
      log: createLogger("test", "error"),
      keys: redisKeys("t."),
      redis: fakeRedis(),
      index: new SubscriptionIndex<SubStream>(),
      counters: new TrafficCounters(),
      jobs: { event: failing(), req: failing(), count: failing(), auth: failing() },
      connections: new Map(),
      maxSubscriptions: 5,
      admit: () => admission.promise,
      policies: defaultPolicies(config),
    };
    const socket = new FakeSocket();
    const conn = new Connection(socket as unknown as WebSocket, "d".repeat(32), "10.0.0.1", deps);
    socket.onopen!();
    conn.receive(JSON.stringify(["REQ", "early", { limit: 0 }]));
    await flush();
    assert.deepEqual(socket.frames, []);
    admission.resolve({ refusal, unlimited: false });
    await conn.ready;
    if (refusal) {
      assert.deepEqual(socket.frames, []);
      assert.deepEqual(socket.closedWith, [3503, "restricted: busy"]);
      assert.equal(deps.connections.size, 0);
    } else {
      assert.deepEqual(socket.frames, [["AUTH", conn.auth.challenge], ["EOSE", "early"]]);
    }
  }
});
