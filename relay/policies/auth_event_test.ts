import assert from "node:assert/strict";
import { authEvent, signer } from "../_signing.ts";
import { type AuthEventContext, checkAuthEvent, pubkeyChange } from "./auth_event.ts";

const RELAY = "wss://relay.example.com";
const NOW = 1_700_000_000;
const ctx: AuthEventContext = {
  challenge: "c0ffee",
  relayUrl: RELAY,
  windowSeconds: 600,
  now: NOW,
  limits: { maxEventTags: 100, maxContentLength: 1000 },
};
const alice = signer();

function reason(value: unknown): string {
  const r = checkAuthEvent(value, ctx);
  assert.equal(r.ok, false);
  return (r as { reason: string }).reason;
}

Deno.test("checkAuthEvent() accepts a signed kind 22242 for this challenge and relay", () => {
  const e = authEvent(alice, `${RELAY}/`, "c0ffee", { created_at: NOW - 599 });
  assert.deepEqual(checkAuthEvent(e, ctx), { ok: true, event: e });
});

Deno.test("checkAuthEvent() refuses the wrong kind", () => {
  const e = authEvent(alice, RELAY, "c0ffee", { kind: 1, created_at: NOW });
  assert.equal(reason(e), "invalid: auth event must be kind 22242");
  assert.equal((checkAuthEvent(e, ctx) as { id: string }).id, e.id);
});

Deno.test("checkAuthEvent() refuses a created_at outside the window, either way", () => {
  for (const created_at of [NOW - 601, NOW + 601]) {
    const e = authEvent(alice, RELAY, "c0ffee", { created_at });
    assert.equal(reason(e), "invalid: auth event created_at is too far from now");
  }
});

Deno.test("checkAuthEvent() refuses another connection's challenge or none", () => {
  const other = authEvent(alice, RELAY, "another", { created_at: NOW });
  assert.equal(reason(other), "invalid: auth event challenge does not match");
  const none = authEvent(alice, RELAY, undefined, { created_at: NOW });
  assert.equal(reason(none), "invalid: auth event challenge does not match");
});

Deno.test("checkAuthEvent() refuses another relay", () => {
  const e = authEvent(alice, "wss://elsewhere.example.com", "c0ffee", { created_at: NOW });
  assert.equal(reason(e), "invalid: auth event relay tag does not match this relay");
});

Deno.test("checkAuthEvent() refuses an id that does not match and a malformed event", () => {
  const e = authEvent(alice, RELAY, "c0ffee", { created_at: NOW });
  const forged = { ...e, content: "changed" };
  assert.equal(reason(forged), "invalid: auth event id does not match its content");
  assert.equal(reason({ ...e, sig: "xyz" }), "invalid: sig must be 128 lowercase hex characters");
  const r = checkAuthEvent({ kind: 22242 }, ctx);
  assert.deepEqual(r, { ok: false, id: "", reason: "invalid: id is missing" });
});

Deno.test("pubkeyChange() refuses a second pubkey only when restricted", () => {
  const a = "a".repeat(64);
  const b = "b".repeat(64);
  assert.deepEqual(pubkeyChange(b, [a], false), { ok: true });
  assert.deepEqual(pubkeyChange(a, [a], true), { ok: true });
  assert.deepEqual(pubkeyChange(b, [], true), { ok: true });
  assert.deepEqual(pubkeyChange(b, [a], true), {
    ok: false,
    reason: "restricted: this connection is already authenticated as another pubkey",
  });
});
