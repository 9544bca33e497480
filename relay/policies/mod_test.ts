import assert from "node:assert/strict";
import { loadConfig } from "../../lib/config.ts";
import type { ClientMessage } from "../messages.ts";
import { defaultPolicies, firstRefusal, refusalFrame } from "./mod.ts";
import { reject } from "./verdict.ts";

const A = "a".repeat(64);

function event(tags: string[][] = []): ClientMessage {
  return {
    type: "EVENT",
    event: { id: "e".repeat(64), pubkey: A, created_at: 1, kind: 1, tags, content: "", sig: "" },
  };
}

Deno.test("defaultPolicies() applies levels, then DM privacy, then NIP-70", () => {
  const policies = defaultPolicies(loadConfig({ REQUIRED_AUTH_LEVEL_FOR_EVENT: "1" }));
  const anon = { authed: [], level: 0 };
  assert.deepEqual(firstRefusal(policies, event([["-"]]), anon), {
    ok: false,
    reason: "auth-required: this relay requires authentication for EVENT",
  });
  assert.deepEqual(firstRefusal(policies, event([["-"]]), { authed: ["b".repeat(64)], level: 1 }), {
    ok: false,
    reason: "auth-required: this event may only be published by its author",
  });
  const dm: ClientMessage = { type: "REQ", sid: "s", filters: [{ kinds: [4] }] };
  assert.equal(firstRefusal(policies, dm, anon).ok, false);
});

Deno.test("defaultPolicies() leaves DM privacy out when it is disabled", () => {
  const dm: ClientMessage = { type: "REQ", sid: "s", filters: [{ kinds: [4] }] };
  const off = defaultPolicies(loadConfig({ NIP_04_NIP_42_ENFORCE_KIND_4_AUTHENTICATION: "false" }));
  assert.deepEqual(firstRefusal(off, dm, { authed: [], level: 0 }), { ok: true });
});

Deno.test("firstRefusal() stops at the first refusal", () => {
  const calls: string[] = [];
  const policies = ["a", "b", "c"].map((name) => () => {
    calls.push(name);
    return name === "b" ? reject("restricted", "no") : { ok: true as const };
  });
  assert.deepEqual(firstRefusal(policies, event(), { authed: [], level: 0 }), {
    ok: false,
    reason: "restricted: no",
  });
  assert.deepEqual(calls, ["a", "b"]);
});

Deno.test("refusalFrame() answers each command the NIP-01 way", () => {
  assert.deepEqual(JSON.parse(refusalFrame(event(), "x: y")), [
    "OK",
    "e".repeat(64),
    false,
    "x: y",
  ]);
  assert.deepEqual(JSON.parse(refusalFrame({ type: "REQ", sid: "s", filters: [] }, "x: y")), [
    "CLOSED",
    "s",
    "x: y",
  ]);
  assert.deepEqual(JSON.parse(refusalFrame({ type: "COUNT", sid: "c", filters: [] }, "x: y")), [
    "CLOSED",
    "c",
    "x: y",
  ]);
  assert.deepEqual(JSON.parse(refusalFrame({ type: "AUTH", event: { id: A } }, "x: y")), [
    "OK",
    A,
    false,
    "x: y",
  ]);
  assert.deepEqual(JSON.parse(refusalFrame({ type: "AUTH", event: { id: 5 } }, "x: y")), [
    "OK",
    "",
    false,
    "x: y",
  ]);
  assert.deepEqual(JSON.parse(refusalFrame({ type: "CLOSE", sid: "s" }, "x: y")), [
    "NOTICE",
    "x: y",
  ]);
  assert.deepEqual(JSON.parse(refusalFrame(undefined, "x: y")), ["NOTICE", "x: y"]);
});
