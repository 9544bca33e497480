import assert from "node:assert/strict";
import { redisKeys } from "../lib/contract.ts";
import { TrafficCounters } from "./counters.ts";

function recorder() {
  const pipelines: [string, string, number][][] = [];
  function pipeline() {
    const cmds: [string, string, number][] = [];
    pipelines.push(cmds);
    return {
      hincrby(key: string, field: string, n: number) {
        cmds.push([key, field, n]);
      },
      exec: () => Promise.resolve([]),
    };
  }
  return { pipelines, pipeline };
}

Deno.test("TrafficCounters.flush() writes all connections' deltas in one pipeline", async () => {
  const keys = redisKeys("p:");
  const c = new TrafficCounters();
  const r = recorder();
  c.received("c1", 10);
  c.received("c1", 5);
  c.sent("c1", 7);
  c.received("c2", 3);
  assert.equal(await c.flush(r.pipeline, keys), 2);
  assert.deepEqual(r.pipelines, [[
    ["p:requests", "c1", 2],
    ["p:incoming_traffic", "c1", 15],
    ["p:outgoing_traffic", "c1", 7],
    ["p:requests", "c2", 1],
    ["p:incoming_traffic", "c2", 3],
  ]]);
  assert.equal(await c.flush(r.pipeline, keys), 0);
  assert.equal(r.pipelines.length, 1, "no pipeline when nothing changed");
});

Deno.test("TrafficCounters.forget() drops a closed connection's deltas", async () => {
  const c = new TrafficCounters();
  const r = recorder();
  c.sent("gone", 100);
  c.forget("gone");
  assert.equal(c.pending, 0);
  assert.equal(await c.flush(r.pipeline, redisKeys()), 0);
});
