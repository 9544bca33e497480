import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { nip11Document, nip11Source, supportedNips, VERSION } from "./nip11.ts";

Deno.test("supportedNips() lists the always-on NIPs and 13 only with a minimum PoW", () => {
  assert.deepEqual(supportedNips({ minPow: 0 }), [1, 9, 11, 40, 42, 45, 50, 70]);
  assert.deepEqual(supportedNips({ minPow: 8 }), [1, 9, 11, 13, 40, 42, 45, 50, 70]);
  assert.ok(!supportedNips({ minPow: 8 }).includes(43));
});

Deno.test("nip11Document() omits unset fields and reports limits from the config", () => {
  const doc = nip11Document(loadConfig({}));
  assert.deepEqual(doc, {
    supported_nips: [1, 9, 11, 40, 42, 45, 50, 70, 86],
    version: VERSION,
    limitation: {
      max_message_length: 262144,
      max_subscriptions: 20,
      max_filters: 100,
      max_limit: 1000,
      max_subid_length: 64,
      max_event_tags: 2500,
      max_content_length: 65536,
      min_pow_difficulty: 0,
      auth_required: false,
      payment_required: false,
      restricted_writes: false,
      created_at_upper_limit: 900,
      default_limit: 500,
    },
  });
});

Deno.test("nip11Document() includes every configured field", () => {
  const pubkey = "f".repeat(64);
  const doc = nip11Document(loadConfig({
    NIP_11_RELAY_NAME: "Test relay",
    NIP_11_RELAY_DESCRIPTION: "A relay for tests",
    NIP_11_RELAY_PUBKEY: pubkey,
    NIP_11_RELAY_CONTACT: "mailto:ops@example.com",
    NIP_11_RELAY_ICON: "https://example.com/icon.png",
    NIP_11_POSTING_POLICY: "https://example.com/policy",
    NIP_11_RELAY_COUNTRIES: "UA EU",
    NIP_11_LANGUAGE_TAGS: "uk en",
    NIP_11_TAGS: "sfw-only",
    NIP_11_MAX_FILTER_LIMIT: "250",
    NIP_13_MIN_POW: "12",
    CREATED_AT_LOWER_LIMIT: "86400",
    CREATED_AT_UPPER_LIMIT: "0",
  }));
  assert.equal(doc.name, "Test relay");
  assert.equal(doc.description, "A relay for tests");
  assert.equal(doc.pubkey, pubkey);
  assert.equal(doc.contact, "mailto:ops@example.com");
  assert.equal(doc.icon, "https://example.com/icon.png");
  assert.equal(doc.posting_policy, "https://example.com/policy");
  assert.deepEqual(doc.relay_countries, ["UA", "EU"]);
  assert.deepEqual(doc.language_tags, ["uk", "en"]);
  assert.deepEqual(doc.tags, ["sfw-only"]);
  assert.deepEqual(doc.supported_nips, [1, 9, 11, 13, 40, 42, 45, 50, 70, 86]);
  const limitation = doc.limitation as Record<string, unknown>;
  assert.equal(limitation.max_limit, 250);
  assert.equal(limitation.min_pow_difficulty, 12);
  assert.equal(limitation.restricted_writes, true);
  assert.equal(limitation.created_at_lower_limit, 86400);
  assert.equal("created_at_upper_limit" in limitation, false);
});

Deno.test("nip11Document() says when auth, payment and restricted writes apply", () => {
  function limits(env: Record<string, string>) {
    const l = nip11Document(loadConfig(env)).limitation as Record<string, unknown>;
    return [l.auth_required, l.payment_required, l.restricted_writes];
  }
  assert.deepEqual(limits({}), [false, false, false]);
  assert.deepEqual(limits({ FORCED_MIN_AUTH_LEVEL: "1" }), [true, false, false]);
  assert.deepEqual(limits({ FORCED_MIN_AUTH_LEVEL: "3" }), [true, true, false]);
  assert.deepEqual(limits({ REQUIRED_AUTH_LEVEL_FOR_REQ: "1" }), [true, false, false]);
  assert.deepEqual(limits({ REQUIRED_AUTH_LEVEL_FOR_EVENT: "2" }), [false, false, true]);
  assert.deepEqual(limits({ REQUIRED_AUTH_LEVEL_FOR_EVENT: "4" }), [false, true, true]);
  assert.deepEqual(limits({ REQUIRED_AUTH_LEVEL_FOR_COUNT: "3" }), [false, true, false]);
  assert.deepEqual(limits({ REQUIRED_AUTH_LEVEL_FOR_COUNT: "1" }), [false, false, false]);
  assert.deepEqual(limits({ NIP_13_MIN_POW: "8" }), [false, false, true]);
});

Deno.test("supportedNips() lists 86 while the management API is enabled", () => {
  assert.ok(supportedNips({ minPow: 0, nip86Enabled: true }).includes(86));
  assert.ok(!supportedNips({ minPow: 0, nip86Enabled: false }).includes(86));
  const off = nip11Document(loadConfig({ NIP_86_ENABLED: "false" }));
  assert.ok(!(off.supported_nips as number[]).includes(86));
});

Deno.test("nip11Document() applies the admin's overrides; an empty one hides the field", () => {
  const config = loadConfig({
    NIP_11_RELAY_NAME: "Configured",
    NIP_11_RELAY_ICON: "https://x/i.png",
  });
  const doc = nip11Document(config, { name: "Renamed", description: "About", icon: "" });
  assert.equal(doc.name, "Renamed");
  assert.equal(doc.description, "About");
  assert.equal("icon" in doc, false);
  assert.equal(nip11Document(config).name, "Configured");
});

Deno.test("nip11Source() caches the overrides for its TTL, invalidates, and falls back", async () => {
  const config = loadConfig({ NIP_11_RELAY_NAME: "Configured" });
  let reads = 0;
  let name = "First";
  let failing = false;
  const source = nip11Source(config, () => {
    reads++;
    return failing ? Promise.reject(new Error("down")) : Promise.resolve({ name });
  }, { ttlMs: 60_000 });
  assert.equal(JSON.parse(await source.json()).name, "First");
  name = "Second";
  assert.equal(JSON.parse(await source.json()).name, "First");
  assert.equal(reads, 1);
  source.invalidate();
  assert.equal(JSON.parse(await source.json()).name, "Second");
  failing = true;
  source.invalidate();
  assert.equal(JSON.parse(await source.json()).name, "Configured");
});
