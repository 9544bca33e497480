import assert from "node:assert/strict";
import { admission, type AdmissionState, BLOCKED, BUSY, MAINTENANCE } from "./admission.ts";

function state(over: Partial<AdmissionState> = {}): AdmissionState {
  return { maintenance: null, maxAllowed: null, connections: 0, unlimited: false, ...over };
}

Deno.test("admission() admits when neither maintenance nor a maximum is set", () => {
  assert.equal(admission(state({ connections: 10_000 })), undefined);
  assert.equal(admission(state({ maintenance: "0", maxAllowed: "", connections: 5 })), undefined);
  assert.equal(admission(state({ maxAllowed: "0", connections: 5 })), undefined);
});

Deno.test("admission() refuses with 3503 during maintenance", () => {
  assert.deepEqual(admission(state({ maintenance: "1" })), {
    code: 3503,
    reason: "restricted: server is on maintenance, please try again later",
  });
  assert.equal(
    admission(state({ maintenance: "1", maxAllowed: "1", connections: 9 })),
    MAINTENANCE,
  );
});

Deno.test("admission() refuses with 3503 once the connections reach the maximum", () => {
  assert.equal(admission(state({ maxAllowed: "3", connections: 2 })), undefined);
  assert.deepEqual(admission(state({ maxAllowed: "3", connections: 3 })), {
    code: 3503,
    reason: "restricted: server is busy, please try again later",
  });
  assert.equal(admission(state({ maxAllowed: "3", connections: 4 })), BUSY);
});

Deno.test("admission() treats a malformed maximum as unlimited", () => {
  assert.equal(admission(state({ maxAllowed: "lots", connections: 4 })), undefined);
  assert.equal(admission(state({ maxAllowed: "-1", connections: 4 })), undefined);
});

Deno.test("admission() refuses a blocked IP with 3403 before anything else", () => {
  assert.deepEqual(admission(state({ blocked: true })), {
    code: 3403,
    reason: "blocked: this IP address is blocked",
  });
  assert.equal(admission(state({ blocked: true, maintenance: "1" })), BLOCKED);
  assert.equal(admission(state({ blocked: false })), undefined);
});
