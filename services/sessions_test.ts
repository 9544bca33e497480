import assert from "node:assert/strict";
import { connectRedis } from "../lib/redis.ts";
import { deletePrefix } from "../tests/_harness.ts";
import { randomHex } from "./_testing.ts";
import { createLoginThrottle, createSessionStore } from "./sessions.ts";

async function withRedis(
  fn: (redis: ReturnType<typeof connectRedis>, prefix: string) => Promise<void>,
) {
  const redis = connectRedis(Deno.env.get("TEST_REDIS_URL") ?? "redis://127.0.0.1:6379");
  const prefix = `ss${randomHex(10)}:`;
  try {
    await fn(redis, prefix);
  } finally {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  }
}

Deno.test("createSessionStore() keeps a hashed session with a sliding TTL until destroyed", async () => {
  await withRedis(async (redis, prefix) => {
    const store = createSessionStore({ redis, prefix, ttlSeconds: 60 });
    const s = await store.create(42);
    assert.match(s.id, /^[A-Za-z0-9_-]{43}$/);
    assert.match(s.csrf, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(s.id, s.csrf);
    const [key] = await redis.keys(`${prefix}admin_sessions:*`);
    assert.ok(key && !key.includes(s.id), "Redis holds a hash of the id, never the id");
    await redis.expire(key!, 5);
    const got = await store.get(s.id);
    assert.deepEqual(got, s);
    assert.ok(await redis.ttl(key!) > 50, "reading renews the TTL");
    assert.equal(await store.get("x".repeat(43)), null);
    assert.equal(await store.get("not a session id"), null);
    await store.destroy(s.id);
    assert.equal(await store.get(s.id), null);
  });
});

Deno.test("createLoginThrottle() refuses an IP or an email after `max` failures in the window", async () => {
  await withRedis(async (redis, prefix) => {
    const throttle = createLoginThrottle({ redis, prefix, max: 3, windowSeconds: 60 });
    for (let i = 0; i < 3; i++) {
      assert.equal((await throttle.check("10.0.0.1", "A@x.test")).allowed, true);
      await throttle.failed("10.0.0.1", "a@x.test");
    }
    const refused = await throttle.check("10.0.0.1", "other@x.test");
    assert.equal(refused.allowed, false, "the IP is over");
    assert.ok(refused.retryAfter > 0 && refused.retryAfter <= 60);
    assert.equal(
      (await throttle.check("10.0.0.2", " a@X.test ")).allowed,
      false,
      "so is the email",
    );
    assert.equal((await throttle.check("10.0.0.2", "b@x.test")).allowed, true);
    await throttle.succeeded("a@x.test");
    assert.equal((await throttle.check("10.0.0.2", "a@x.test")).allowed, true, "email cleared");
    assert.equal((await throttle.check("10.0.0.1", "a@x.test")).allowed, false, "IP still over");
  });
});
