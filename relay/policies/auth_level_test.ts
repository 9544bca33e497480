import assert from "node:assert/strict";
import type { ClientMessage } from "../messages.ts";
import { requiredLevels } from "./auth_level.ts";
import type { PolicyConnection } from "./verdict.ts";

const A = "a".repeat(64);
const anonymous: PolicyConnection = { authed: [], level: 0 };
const stranger: PolicyConnection = { authed: [A], level: 1 };
const member: PolicyConnection = { authed: [A], level: 3 };

const policy = requiredLevels({
  requiredLevelReq: 1,
  requiredLevelEvent: 3,
  requiredLevelCount: 2,
  authExemptKinds: [10002, 0],
});

function event(kind: number): ClientMessage {
  const e = { id: "e".repeat(64), pubkey: A, created_at: 1, kind, tags: [], content: "", sig: "" };
  return { type: "EVENT", event: e };
}

Deno.test("requiredLevels() refuses anonymous connections with auth-required", () => {
  assert.deepEqual(policy(event(1), anonymous), {
    ok: false,
    reason: "auth-required: this relay requires authentication for EVENT",
  });
  assert.deepEqual(policy({ type: "REQ", sid: "s", filters: [{}] }, anonymous), {
    ok: false,
    reason: "auth-required: this relay requires authentication for REQ",
  });
  assert.deepEqual(policy({ type: "COUNT", sid: "s", filters: [{}] }, anonymous), {
    ok: false,
    reason: "auth-required: this relay requires authentication for COUNT",
  });
});

Deno.test("requiredLevels() refuses authenticated connections below the level with restricted", () => {
  assert.deepEqual(policy(event(1), stranger), {
    ok: false,
    reason: "restricted: your account does not have the required authorization level (3)",
  });
  assert.deepEqual(policy({ type: "COUNT", sid: "s", filters: [{}] }, stranger), {
    ok: false,
    reason: "restricted: your account does not have the required authorization level (2)",
  });
  assert.deepEqual(policy({ type: "REQ", sid: "s", filters: [{}] }, stranger), { ok: true });
  assert.deepEqual(policy(event(1), member), { ok: true });
});

Deno.test("requiredLevels() exempts events of exempt kinds", () => {
  assert.deepEqual(policy(event(10002), anonymous), { ok: true });
  assert.deepEqual(policy(event(0), anonymous), { ok: true });
});

Deno.test("requiredLevels() exempts REQ and COUNT only when every filter names only exempt kinds", () => {
  const only = [{ kinds: [10002] }, { kinds: [0, 10002], authors: [A] }];
  assert.deepEqual(policy({ type: "REQ", sid: "s", filters: only }, anonymous), { ok: true });
  assert.deepEqual(policy({ type: "COUNT", sid: "s", filters: only }, anonymous), { ok: true });
  for (const filters of [[{ kinds: [10002, 1] }], [{ kinds: [10002] }, {}], [{ authors: [A] }]]) {
    assert.equal(policy({ type: "REQ", sid: "s", filters }, anonymous).ok, false);
  }
});

Deno.test("requiredLevels() never refuses CLOSE or AUTH, nor anything when levels are 0", () => {
  assert.deepEqual(policy({ type: "CLOSE", sid: "s" }, anonymous), { ok: true });
  assert.deepEqual(policy({ type: "AUTH", event: {} }, anonymous), { ok: true });
  const open = requiredLevels({
    requiredLevelReq: 0,
    requiredLevelEvent: 0,
    requiredLevelCount: 0,
    authExemptKinds: [],
  });
  assert.deepEqual(open(event(1), anonymous), { ok: true });
  assert.deepEqual(open({ type: "REQ", sid: "s", filters: [{}] }, anonymous), { ok: true });
});
