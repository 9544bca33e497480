/** The limiter against a real Redis, with an injected clock. */
import assert from "node:assert/strict";
import { loadConfig } from "../../lib/config.ts";
import { redisKeys } from "../../lib/contract.ts";
import { createLogger } from "../../lib/log.ts";
import { connectRedis, type Redis } from "../../lib/redis.ts";
import { randomHex } from "../runtime.ts";
import { createRateLimiter, type RateLimiterOptions, rateLimitReason } from "./rate_limit.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function setup(over: Partial<RateLimiterOptions> = {}) {
  const redis = connectRedis(loadConfig().redisUrl);
  const prefix = `test${randomHex(8)}.`;
  const keys = redisKeys(prefix);
  let clock = 1_000_000;
  const limiter = createRateLimiter({
    redis,
    keys,
    maxRequests: 3,
    windowSeconds: 10,
    memberPrefix: "node",
    log: createLogger("test", "error"),
    now: () => clock,
    ...over,
  });
  await redis.ping();
  return {
    redis,
    keys,
    limiter,
    advance(ms: number) {
      clock += ms;
    },
    async [Symbol.asyncDispose]() {
      const found = await redis.keys(`${prefix}*`);
      if (found.length) await redis.del(...found);
      redis.disconnect();
    },
  };
}

const REFUSED = { ok: false, reason: "rate-limited: slow down, at most 3 messages per 10 seconds" };

Deno.test({
  name: "rate limiter counts every message in the window, not distinct seconds",
  ...opts,
  async fn() {
    await using t = await setup();
    // the same millisecond, four messages: the original counted them as one
    for (let i = 0; i < 3; i++) assert.deepEqual(await t.limiter("10.0.0.1"), { ok: true });
    assert.deepEqual(await t.limiter("10.0.0.1"), REFUSED);
    assert.equal(await t.redis.zcard(t.keys.rateLimit("10.0.0.1")), 3, "refusals not recorded");
    const ttl = await t.redis.pttl(t.keys.rateLimit("10.0.0.1"));
    assert.ok(ttl > 9000 && ttl <= 10_000, `expires with the window (${ttl})`);
  },
});

Deno.test({
  name: "rate limiter slides: a message leaves the window after windowSeconds",
  ...opts,
  async fn() {
    await using t = await setup();
    await t.limiter("10.0.0.1");
    t.advance(5000);
    await t.limiter("10.0.0.1");
    await t.limiter("10.0.0.1");
    assert.deepEqual(await t.limiter("10.0.0.1"), REFUSED);
    t.advance(4999);
    assert.deepEqual(await t.limiter("10.0.0.1"), REFUSED, "first one still inside");
    t.advance(1);
    assert.deepEqual(await t.limiter("10.0.0.1"), { ok: true }, "first one left");
    assert.deepEqual(await t.limiter("10.0.0.1"), REFUSED);
  },
});

Deno.test({
  name: "rate limiter keeps one window per IP",
  ...opts,
  async fn() {
    await using t = await setup();
    for (let i = 0; i < 3; i++) await t.limiter("10.0.0.1");
    assert.deepEqual(await t.limiter("10.0.0.1"), REFUSED);
    assert.deepEqual(await t.limiter("10.0.0.2"), { ok: true });
  },
});

Deno.test({
  name: "rate limiter fails open when Redis cannot answer",
  ...opts,
  async fn() {
    await using t = await setup({ timeoutMs: 50 });
    for (let i = 0; i < 3; i++) await t.limiter("10.0.0.1");
    const down = connectRedis("redis://127.0.0.1:1");
    const limiter = createRateLimiter({
      redis: down,
      keys: t.keys,
      maxRequests: 1,
      windowSeconds: 10,
      memberPrefix: "node",
      log: createLogger("test", "error"),
    });
    for (let i = 0; i < 3; i++) assert.deepEqual(await limiter("10.0.0.1"), { ok: true });
    down.disconnect();
    const stuck = {
      status: "ready",
      nostrRateLimit: () => new Promise(() => {}),
    } as unknown as Redis;
    const slow = createRateLimiter({
      redis: stuck,
      keys: t.keys,
      maxRequests: 1,
      windowSeconds: 10,
      memberPrefix: "node",
      log: createLogger("test", "error"),
      timeoutMs: 20,
    });
    assert.deepEqual(await slow("10.0.0.1"), { ok: true }, "a slow Redis fails open too");
  },
});

Deno.test("rateLimitReason() names the maximum and the window", () => {
  assert.equal(
    rateLimitReason(300, 60),
    "rate-limited: slow down, at most 300 messages per 60 seconds",
  );
});
