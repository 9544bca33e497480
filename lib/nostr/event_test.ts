import assert from "node:assert/strict";
import { finalizeEvent, generateSecretKey } from "nostr-tools/pure";
import {
  canonicalJson,
  computeId,
  dTag,
  expiration,
  initVerifier,
  isProtected,
  kindClass,
  type NostrEvent,
  powDifficulty,
  rawId,
  verifierName,
  verifySignature,
} from "./event.ts";

// A plain copy: nostr-tools marks its events with a symbol property.
const signed: NostrEvent = JSON.parse(JSON.stringify(finalizeEvent(
  { kind: 1, created_at: 1700000000, tags: [["t", "x"]], content: 'hi "there"\n' },
  generateSecretKey(),
)));

Deno.test("computeId() agrees with nostr-tools", () => {
  assert.equal(computeId(signed), signed.id);
});

Deno.test("verifySignature() accepts a valid signature and rejects a changed one", () => {
  assert.equal(verifySignature(signed), true);
  const flipped = signed.sig.slice(0, -1) + (signed.sig.endsWith("0") ? "1" : "0");
  assert.equal(verifySignature({ ...signed, sig: flipped }), false);
  assert.equal(verifySignature({ ...signed, sig: "zz" }), false);
});

Deno.test("verifySignature() agrees once the WASM verifier is loaded (no file read needed)", async () => {
  assert.equal(await initVerifier(), true);
  assert.equal(verifierName(), "libsecp256k1-wasm");
  assert.equal(verifySignature(signed), true);
  const flipped = signed.sig.slice(0, -1) + (signed.sig.endsWith("0") ? "1" : "0");
  assert.equal(verifySignature({ ...signed, sig: flipped }), false);
  assert.equal(verifySignature({ ...signed, sig: "zz" }), false);
  assert.equal(verifySignature({ ...signed, sig: signed.sig.toUpperCase() }), false);
  assert.equal(verifySignature({ ...signed, pubkey: "00".repeat(32) }), false);
  // a valid signature over another id: the WASM path also re-hashes the event
  assert.equal(verifySignature({ ...signed, content: "changed" }), false);
  // the valid event again after failures (no state left behind)
  assert.equal(verifySignature(signed), true);
});

Deno.test("canonicalJson() puts the id first so rawId() reads it", () => {
  const raw = canonicalJson(signed);
  assert.equal(rawId(raw), signed.id);
  assert.deepEqual(JSON.parse(raw), signed);
});

Deno.test("kindClass() follows the NIP-01 ranges", () => {
  assert.equal(kindClass(0), "replaceable");
  assert.equal(kindClass(3), "replaceable");
  assert.equal(kindClass(1), "regular");
  assert.equal(kindClass(41), "regular");
  assert.equal(kindClass(10002), "replaceable");
  assert.equal(kindClass(20000), "ephemeral");
  assert.equal(kindClass(29999), "ephemeral");
  assert.equal(kindClass(30023), "addressable");
  assert.equal(kindClass(40000), "regular");
});

Deno.test("tag readers: d, expiration, protected", () => {
  assert.equal(dTag({ tags: [] }), "");
  assert.equal(dTag({ tags: [["d", "x"], ["d", "y"]] }), "x");
  assert.equal(expiration({ tags: [] }), null);
  assert.equal(expiration({ tags: [["expiration", "123"]] }), 123);
  assert.ok(Number.isNaN(expiration({ tags: [["expiration", "soon"]] })));
  assert.equal(isProtected({ tags: [["-"]] }), true);
  assert.equal(isProtected({ tags: [["-", "x"]] }), false);
});

Deno.test("powDifficulty() counts leading zero bits", () => {
  assert.equal(powDifficulty("f" + "0".repeat(63)), 0);
  assert.equal(powDifficulty("0" + "f".repeat(63)), 4);
  assert.equal(powDifficulty("000f" + "0".repeat(60)), 12);
  assert.equal(powDifficulty("0010" + "0".repeat(60)), 11);
});
