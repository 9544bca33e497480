import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import {
  addUnlimitedIp,
  bootSettings,
  getHotSettings,
  MASK,
  maskUrlPassword,
  removeUnlimitedIp,
  setHotSetting,
  setMaintenance,
  setMaxAllowedConnections,
  setUnlimitedIps,
} from "./settings.ts";
import { serviceSuite } from "./_testing.ts";

const suite = serviceSuite();

suite.test("hot settings: defaults, then each setter writes the key the web process reads", async ({ deps }) => {
  assert.deepEqual(await getHotSettings(deps), {
    maintenance: false,
    maxAllowedConnections: 0,
    unlimitedIps: [],
  });
  await setMaintenance(deps, true);
  assert.equal(await deps.redis.get(deps.keys.maintenance), "1");
  await setMaxAllowedConnections(deps, 25);
  assert.equal(await deps.redis.get(deps.keys.maxAllowedConnections), "25");
  await setUnlimitedIps(deps, "10.0.0.1, ::1\n10.0.0.1");
  assert.deepEqual((await deps.redis.smembers(deps.keys.unlimitedIps)).sort(), ["10.0.0.1", "::1"]);
  await addUnlimitedIp(deps, "192.168.1.2");
  await removeUnlimitedIp(deps, "::1");
  assert.deepEqual(await getHotSettings(deps), {
    maintenance: true,
    maxAllowedConnections: 25,
    unlimitedIps: ["10.0.0.1", "192.168.1.2"],
  });
  await setMaintenance(deps, false);
  await setMaxAllowedConnections(deps, 0);
  await setUnlimitedIps(deps, []);
  assert.equal(await deps.redis.exists(deps.keys.maintenance, deps.keys.maxAllowedConnections), 0);
  assert.deepEqual((await getHotSettings(deps)).unlimitedIps, []);
});

suite.test("hot settings: invalid values are refused and change nothing", async ({ deps }) => {
  await setUnlimitedIps(deps, ["1.2.3.4"]);
  await assert.rejects(() => setUnlimitedIps(deps, "1.2.3.4 not-an-ip"), {
    code: "invalid",
    message: /"not-an-ip" is not an IP address/,
  });
  assert.deepEqual((await getHotSettings(deps)).unlimitedIps, ["1.2.3.4"]);
  await assert.rejects(() => setMaxAllowedConnections(deps, -1), { code: "invalid" });
  await assert.rejects(() => setMaxAllowedConnections(deps, 1.5), { code: "invalid" });
  await assert.rejects(() => setHotSetting(deps, "max_allowed_connections", "ten"), {
    code: "invalid",
  });
  await assert.rejects(() => setHotSetting(deps, "maintenance", "maybe"), { code: "invalid" });
  await assert.rejects(() => setHotSetting(deps, "port", "1"), { code: "invalid" });
});

suite.test("setHotSetting() parses form strings", async ({ deps }) => {
  let s = await setHotSetting(deps, "maintenance", "on");
  assert.equal(s.maintenance, true);
  s = await setHotSetting(deps, "maintenance", "false");
  assert.equal(s.maintenance, false);
  s = await setHotSetting(deps, "max_allowed_connections", "100");
  assert.equal(s.maxAllowedConnections, 100);
  s = await setHotSetting(deps, "max_allowed_connections", "");
  assert.equal(s.maxAllowedConnections, 0);
  s = await setHotSetting(deps, "unlimited_ips", "127.0.0.1 10.1.1.1");
  assert.deepEqual(s.unlimitedIps, ["10.1.1.1", "127.0.0.1"]);
});

Deno.test("bootSettings() lists every setting with its source and masks secrets", () => {
  const config = loadConfig({
    DATABASE_URL: "postgres://relay:hunter2@db.example:5432/nostr",
    REDIS_URL: "redis://:s3cret@redis.example:6379",
    ADMIN_PASSWORD: "correct horse",
    ADMIN_EMAIL: "root@example.com",
    NIP_42_43_SELF_URL: "wss://relay.example",
    NIP_50_CONTENT_SEARCHABLE_KINDS: "1 30023",
  });
  const rows = bootSettings(config);
  const by = Object.fromEntries(rows.map((r) => [r.key, r]));
  assert.equal(by.databaseUrl!.value, `postgres://relay:${MASK}@db.example:5432/nostr`);
  assert.equal(by.databaseUrl!.source, "DATABASE_URL");
  assert.equal(by.redisUrl!.value, `redis://:${MASK}@redis.example:6379`);
  assert.equal(by.adminPassword!.value, MASK);
  assert.equal(by.adminPassword!.secret, true);
  assert.equal(by.adminEmail!.value, "root@example.com");
  assert.equal(by.relayUrl!.source, "NIP_42_43_SELF_URL");
  assert.equal(by.searchKinds!.value, "1 30023");
  assert.equal(by.port!.source, "default");
  assert.equal(by.port!.value, "3000");
  assert.ok(!JSON.stringify(rows).includes("hunter2"));
  assert.ok(!JSON.stringify(rows).includes("s3cret"));
  assert.ok(!JSON.stringify(rows).includes("correct horse"));
});

Deno.test("maskUrlPassword() leaves URLs without a password alone", () => {
  assert.equal(maskUrlPassword("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
  assert.equal(maskUrlPassword("plain text"), "plain text");
});

suite.end();
