import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "./config.ts";

Deno.test("loadConfig() works with no environment at all", () => {
  const c = loadConfig({});
  assert.equal(c.port, 3000);
  assert.equal(c.redisUrl, "redis://127.0.0.1:6379");
  assert.match(c.databaseUrl, /^postgres:\/\/postgres@127\.0\.0\.1:5432\//);
  assert.equal(c.sources.port, "default");
});

Deno.test("loadConfig() accepts the original's variable names", () => {
  const c = loadConfig({
    NIP_42_43_SELF_URL: "wss://relay.example",
    POSTGRES_HOST: "db",
    POSTGRES_DATABASE: "saltivka",
  });
  assert.equal(c.relayUrl, "wss://relay.example");
  assert.equal(c.sources.relayUrl, "NIP_42_43_SELF_URL");
  assert.equal(c.databaseUrl, "postgres://postgres@db:5432/saltivka");
});

Deno.test("loadConfig() reports every bad value, one line each", () => {
  assert.throws(
    () =>
      loadConfig({
        PORT: "http",
        RELAY_URL: "example.com",
        NIP_50_CONTENT_SEARCHABLE_KINDS: "1 x",
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 3);
      assert.match(err.problems[0]!, /^PORT="http": /);
      return true;
    },
  );
});

Deno.test("loadConfig() accepts a Redis Cluster hash tag in REDIS_PREFIX", () => {
  assert.equal(loadConfig({ REDIS_PREFIX: "{nostr}:" }).redisPrefix, "{nostr}:");
  assert.throws(() => loadConfig({ REDIS_PREFIX: "a*b" }), ConfigError);
});
