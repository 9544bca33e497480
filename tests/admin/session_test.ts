/**
 * Admin accounts over HTTP: the first admin from ADMIN_EMAIL / ADMIN_PASSWORD, login, cookie
 * flags, CSRF and Origin checks on state-changing requests, logout, and login throttling.
 */
import assert from "node:assert/strict";
import { getHotSettings } from "../../services/settings.ts";
import { createUser } from "../../services/users.ts";
import { startRelay } from "../_harness.ts";
import { client, login, tryLogin } from "./_admin.ts";

const ADMIN = { ADMIN_EMAIL: "Admin@Relay.test", ADMIN_PASSWORD: "a long admin password" };

Deno.test("admin sessions: login, cookie flags, CSRF, Origin, logout, throttling", async (t) => {
  await using relay = await startRelay(ADMIN, { admin: true });
  const base = relay.httpUrl;
  const services = relay.admin!.deps.services;

  await t.step("the first admin exists and logs in with its email in any case", async () => {
    const r = await tryLogin(base, "admin@relay.test", ADMIN.ADMIN_PASSWORD);
    assert.equal(r.status, 303);
    const session = r.setCookies.find((c) => c.startsWith("admin_session="))!;
    assert.match(session, /^admin_session=[A-Za-z0-9_-]{43}; /);
    assert.match(session, /; HttpOnly/);
    assert.match(session, /; SameSite=Lax/);
    assert.match(session, /; Path=\/admin/);
    assert.doesNotMatch(session, /Secure/, "plain http relay: no Secure flag");
    const page = await r.client!.get("/admin/config");
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Maintenance/);
    const keys = await relay.redis.keys(`${relay.config.redisPrefix}admin_sessions:*`);
    assert.equal(keys.length, 1);
    assert.ok(!keys[0]!.includes(r.client!.cookie.split("=")[1]!), "only a hash is stored");
    const ttl = await relay.redis.ttl(keys[0]!);
    assert.ok(ttl > 3600 && ttl <= 12 * 3600, `session TTL ${ttl}`);
  });

  await t.step("a wrong password is refused without a session", async () => {
    const r = await tryLogin(base, ADMIN.ADMIN_EMAIL, "not the password");
    assert.equal(r.status, 401);
    assert.ok(!r.setCookies.some((c) => c.startsWith("admin_session=")));
    assert.match(r.body, /Wrong email or password/);
  });

  await t.step(
    "state-changing requests need the session's CSRF token and a same-site Origin",
    async () => {
      const admin = await login(base, ADMIN.ADMIN_EMAIL, ADMIN.ADMIN_PASSWORD);
      const on = { name: "maintenance", value: "on" };
      const noToken = await admin.post("/admin/config", { ...on, _csrf: "" });
      assert.equal(noToken.status, 403);
      await noToken.body?.cancel();
      const wrongToken = await admin.post("/admin/config", { ...on, _csrf: "x".repeat(43) });
      assert.equal(wrongToken.status, 403);
      await wrongToken.body?.cancel();
      const crossSite = await admin.post("/admin/config", on, {
        headers: { origin: "https://evil.example" },
      });
      assert.equal(crossSite.status, 403);
      assert.match(await crossSite.text(), /cross-site/);
      const loginCsrfOnly = await fetch(`${base}/admin/config`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie: `${admin.cookie}; admin_login_csrf=abc`, origin: base },
        body: new URLSearchParams({ ...on, _csrf: "abc" }),
      });
      assert.equal(loginCsrfOnly.status, 403, "the login cookie is no substitute");
      await loginCsrfOnly.body?.cancel();
      assert.equal((await getHotSettings(services)).maintenance, false);

      const ok = await admin.post("/admin/config", on);
      assert.equal(ok.status, 303);
      assert.match(ok.headers.get("location")!, /^\/admin\/config\?ok=/);
      assert.equal((await getHotSettings(services)).maintenance, true);
      const header = await admin.post("/admin/config", { name: "maintenance", value: "off" }, {
        headers: { "x-csrf-token": admin.csrf },
      });
      assert.equal(header.status, 303);
      assert.equal((await getHotSettings(services)).maintenance, false);
    },
  );

  await t.step("a non-admin gets 403 pages; logging out ends the session", async () => {
    await createUser(services, { email: "user@relay.test", password: "user password 1" });
    const user = await login(base, "user@relay.test", "user password 1");
    const denied = await user.get("/admin/connections");
    assert.equal(denied.status, 403);
    assert.match(await denied.text(), /user@relay\.test is not an admin/);
    const out = await user.post("/admin/logout");
    assert.equal(out.status, 303);
    assert.equal(out.headers.get("location"), "/admin/login");
    assert.match(out.headers.getSetCookie()[0]!, /^admin_session=; .*Max-Age=0/);
    const after = await user.get("/admin/connections");
    assert.equal(after.status, 303);
    assert.match(after.headers.get("location")!, /^\/admin\/login/);
  });

  await t.step("an open redirect through ?next= is refused", async () => {
    const anon = client(base);
    const res = await anon.get("/admin/login?next=//evil.example/x");
    const html = await res.text();
    assert.match(html, /name="next" value="\/admin"/);
  });

  await t.step(
    "after 10 failures per email, even the right password is refused for a while",
    async () => {
      // One failure was counted by an earlier step.
      for (let i = 1; i < 10; i++) {
        const r = await tryLogin(base, ADMIN.ADMIN_EMAIL, `wrong ${i}`);
        assert.equal(r.status, 401, `attempt ${i}`);
      }
      const r = await tryLogin(base, ADMIN.ADMIN_EMAIL, ADMIN.ADMIN_PASSWORD);
      assert.equal(r.status, 429);
      assert.match(r.body, /Too many failed attempts/);
      assert.equal(r.client, undefined);
    },
  );
});

Deno.test("admin session cookies are Secure behind TLS (wss relay URL)", async () => {
  await using relay = await startRelay({ ...ADMIN, RELAY_URL: "wss://relay.example.com" }, {
    admin: true,
  });
  const r = await tryLogin(relay.httpUrl, ADMIN.ADMIN_EMAIL, ADMIN.ADMIN_PASSWORD);
  assert.equal(r.status, 303);
  assert.match(r.setCookies.find((c) => c.startsWith("admin_session="))!, /; Secure/);
  // The public https origin is this site too (a proxy terminates TLS in front).
  const res = await r.client!.post("/admin/config", { name: "maintenance", value: "on" }, {
    headers: { origin: "https://relay.example.com" },
  });
  assert.equal(res.status, 303);
  await res.body?.cancel();
});
