import assert from "node:assert/strict";
import { signer } from "../_signing.ts";
import {
  belowForcedLevel,
  fastAuthAtConnect,
  type FastAuthContext,
  parseFastAuth,
  usedTwice,
} from "./fast_auth.ts";

const RELAY = "wss://relay.example.com";
const NOW = 1_700_000_000;
const ctx: FastAuthContext = {
  relayUrl: RELAY,
  windowSeconds: 60,
  now: NOW,
  limits: { maxEventTags: 100, maxContentLength: 1000 },
};
const alice = signer();

function params(value: unknown): URLSearchParams {
  const json = typeof value === "string" ? value : JSON.stringify(value);
  // what a client does: percent-encode the JSON into the URL; URL parsing decodes it
  return new URL(`wss://relay.example.com/?authorization=${encodeURIComponent(json)}`)
    .searchParams;
}

function token(over: { kind?: number; created_at?: number; tags?: string[][] } = {}) {
  return alice.sign({
    kind: over.kind ?? 22242,
    created_at: over.created_at ?? NOW,
    tags: over.tags ?? [["relay", RELAY]],
  });
}

Deno.test("parseFastAuth() is none without the parameter", () => {
  assert.deepEqual(parseFastAuth(new URLSearchParams("x=1"), ctx), { kind: "none" });
});

Deno.test("parseFastAuth() accepts a signed kind 22242 naming this relay within the window", () => {
  const e = token({ created_at: NOW - 60, tags: [["relay", "ws://relay.example.com/"]] });
  assert.deepEqual(parseFastAuth(params(e), ctx), { kind: "valid", event: e });
});

Deno.test("parseFastAuth() says what is wrong with an invalid event", () => {
  const cases: [unknown, string][] = [
    ["{not json", "authorization is not valid JSON"],
    ["", "authorization is not valid JSON"],
    [[1, 2], "event must be a JSON object"],
    [{ ...token(), pubkey: "xyz" }, "pubkey must be 64 lowercase hex characters"],
    [token({ tags: [] }), "relay tag is missing"],
    [
      token({ tags: [["relay", "wss://other.example.com"]] }),
      "relay tag does not match this relay",
    ],
    [token({ kind: 1 }), "kind must be 22242"],
    [token({ created_at: NOW - 61 }), "created_at is too far from now"],
    [token({ created_at: NOW + 61 }), "created_at is too far from now"],
    [{ ...token(), content: "edited" }, "id does not match the event"],
  ];
  for (const [value, what] of cases) {
    assert.deepEqual(parseFastAuth(params(value), ctx), { kind: "invalid", what }, what);
  }
});

Deno.test("fastAuthAtConnect() closes 3403 on an invalid event, and without one when forced", () => {
  assert.equal(fastAuthAtConnect({ kind: "none" }, 0), undefined);
  assert.equal(fastAuthAtConnect({ kind: "valid", event: token() }, 2), undefined);
  assert.deepEqual(fastAuthAtConnect({ kind: "none" }, 1), {
    code: 3403,
    reason:
      "restricted: this relay requires authentication: connect with ?authorization=<signed kind 22242 event>",
  });
  for (const forced of [0, 3]) {
    assert.deepEqual(fastAuthAtConnect({ kind: "invalid", what: "kind must be 22242" }, forced), {
      code: 3403,
      reason: "restricted: fast auth event has errors: kind must be 22242",
    });
  }
});

Deno.test("usedTwice() and belowForcedLevel() carry the exact reasons", () => {
  assert.deepEqual(usedTwice("ab".repeat(32)), {
    code: 3403,
    reason: `restricted: event id ${"ab".repeat(32)} was used for authentication twice`,
  });
  assert.deepEqual(belowForcedLevel(2), {
    code: 3403,
    reason: "restricted: your account doesn't have required authorization (2)",
  });
});

Deno.test("every fast-auth close reason fits in a close frame (123 bytes)", () => {
  const reasons = [
    usedTwice("f".repeat(64)).reason,
    belowForcedLevel(4).reason,
    fastAuthAtConnect({ kind: "none" }, 1)!.reason,
    fastAuthAtConnect({ kind: "invalid", what: "relay tag does not match this relay" }, 0)!.reason,
  ];
  for (const r of reasons) assert.ok(new TextEncoder().encode(r).length <= 123, r);
});
