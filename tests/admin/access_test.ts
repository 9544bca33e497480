/**
 * Every admin route, every method, as an anonymous visitor and as a signed-in non-admin: no
 * admin data in the answer and no change made. The route table is iterated, so a new route is
 * covered as soon as it is listed (routes with parameters must name a sample value below).
 */
import assert from "node:assert/strict";
import { ROUTES } from "../../routes/mod.ts";
import { addTrustedAuthor, grantSubscription } from "../../services/access.ts";
import { getHotSettings } from "../../services/settings.ts";
import { createUser, getUserByEmail, listUsers } from "../../services/users.ts";
import { signer, TestClient } from "../_client.ts";
import { startRelay } from "../_harness.ts";
import { client, login } from "./_admin.ts";

const ADMIN_EMAIL = "root-marker@relay.test";
const ADMIN_PASSWORD = "correct horse battery staple";
const USER_EMAIL = "plain@relay.test";
const USER_PASSWORD = "just a user password";

Deno.test("admin routes give anonymous and non-admin visitors no admin data and change nothing", async () => {
  await using relay = await startRelay({
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    NIP_11_RELAY_CONTACT: "contact-marker@relay.test",
  }, { admin: true });
  const services = relay.admin!.deps.services;
  await createUser(services, { email: USER_EMAIL, password: USER_PASSWORD });
  const trusted = signer();
  const subscriber = signer();
  await addTrustedAuthor(services, trusted.pubkey);
  await grantSubscription(services, subscriber.pubkey, 30);
  await using ws = await TestClient.connect(relay.url);
  const event = trusted.sign({ content: "event-content-marker" });
  assert.equal((await ws.publish(event))[2], true);
  const cid = (await relay.redis.smembers(relay.keys.connections))[0] ?? "";
  const admin = await getUserByEmail(services, ADMIN_EMAIL);
  assert.ok(admin?.admin && cid);

  const markers = [
    ADMIN_EMAIL,
    trusted.pubkey,
    subscriber.pubkey,
    event.id,
    "event-content-marker",
    cid,
    "contact-marker",
  ];
  function pathOf(pattern: string): string {
    pattern = pattern.replace("{/}?", "");
    if (pattern.includes("/connections/:id")) return pattern.replace(":id", cid);
    if (pattern.includes("/users/:id")) return pattern.replace(":id", String(admin!.id));
    if (pattern.includes("/events/:id")) return pattern.replace(":id", event.id);
    assert.ok(!pattern.includes(":"), `add a sample value for ${pattern} in this test`);
    return pattern;
  }
  const fields = {
    name: "maintenance",
    value: "on",
    action: "remove",
    pubkey: trusted.pubkey,
    days: "5",
    email: "intruder@relay.test",
    password: "intruder password",
    admin: "on",
    id: event.id,
  };

  const anonymous = client(relay.httpUrl);
  const user = await login(relay.httpUrl, USER_EMAIL, USER_PASSWORD);
  assert.ok(user.csrf, "the non-admin's pages carry a CSRF token");
  let checked = 0;
  for (const route of ROUTES) {
    if (route.access === "public" || route.access === "user") continue;
    const path = pathOf(route.pattern.pathname);
    for (const method of Object.keys(route.module.handler)) {
      for (const [who, c] of [["anonymous", anonymous], ["non-admin", user]] as const) {
        const res = method === "POST" ? await c.post(path, fields) : await c.get(path);
        const body = await res.text();
        const what = `${method} ${path} as ${who}`;
        if (who === "anonymous") {
          if (route.api) assert.equal(res.status, 401, what);
          else {
            assert.equal(res.status, 303, what);
            assert.match(res.headers.get("location") ?? "", /^\/admin\/login\?next=/, what);
          }
        } else {
          assert.equal(res.status, 403, what);
        }
        for (const m of markers) assert.ok(!body.includes(m), `${what} leaks ${m}`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 2 * ROUTES.length - 4, `checked ${checked} requests`);

  // Nothing changed.
  const hot = await getHotSettings(services);
  assert.equal(hot.maintenance, false);
  const [trustedRow] = await relay.sql`select count(*)::int as n from trusted_authors`;
  assert.equal(trustedRow!.n, 1);
  assert.equal((await listUsers(services)).items.length, 2);
  assert.equal(await relay.redis.sismember(relay.keys.connections, cid), 1);
  const [stored] = await relay.sql`select count(*)::int as n from events`;
  assert.equal(stored!.n, 1);
});
