/**
 * The admin UI in a real browser (Debian's chromium through playwright-core) against a real
 * relay: log in, watch a live connection appear and close it, toggle maintenance, grant a
 * subscription to a waiting client, ban a pubkey. Every page is saved as a screenshot in
 * test-artifacts/admin/ (1280 px wide, and 390 px for the connections page).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { signer, TestClient } from "../_client.ts";
import { startRelay } from "../_harness.ts";
import { addTrustedAuthor } from "../../services/access.ts";
import { withQueue } from "../../services/deps.ts";
import { authEvent, challengeOf } from "../_auth.ts";
import { ARTIFACTS, CHROMIUM, hasChromium, launchChromium } from "./_browser.ts";

const ADMIN_EMAIL = "admin@relay.test";
const ADMIN_PASSWORD = "a long admin password";
const RELAY_URL = "ws://relay.test";

async function shot(page: Page, name: string, width = 1280): Promise<void> {
  const before = page.viewportSize();
  if (before?.width !== width) await page.setViewportSize({ width, height: 900 });
  await page.screenshot({
    path: new URL(`${name}-${width}.png`, ARTIFACTS).pathname,
    fullPage: true,
  });
  if (before && before.width !== width) await page.setViewportSize(before);
}

/** Polls `fn` until it returns a truthy value (bounded). */
async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("admin UI in a browser: login, connections, maintenance, subscriptions, bans", async (t) => {
  assert.ok(hasChromium(), `${CHROMIUM} is missing: apt-get install -y chromium`);
  await using relay = await startRelay({
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    RELAY_URL,
    REQUIRED_AUTH_LEVEL_FOR_EVENT: "3",
    NIP_11_RELAY_NAME: "Saltivka test relay",
  }, { admin: true });
  const base = relay.httpUrl;
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("console", (m) => {
    // The deliberately wrong password answers 401: the browser logs it as a failed load.
    const url = m.location().url;
    if (m.type() === "error" && !url.endsWith("/admin/login")) errors.push(`${m.text()} ${url}`);
  });

  async function newCid(before: Set<string>): Promise<string> {
    return await until("the connection in Redis", async () => {
      const now = await relay.redis.smembers(relay.keys.connections);
      return now.find((c) => !before.has(c));
    });
  }
  async function cids(): Promise<Set<string>> {
    return new Set(await relay.redis.smembers(relay.keys.connections));
  }

  try {
    await t.step("log in", async () => {
      await page.goto(`${base}/admin/connections`);
      assert.match(page.url(), /\/admin\/login\?next=%2Fadmin%2Fconnections$/);
      await shot(page, "login");
      await page.fill('input[name="email"]', ADMIN_EMAIL);
      await page.fill('input[name="password"]', "wrong password");
      await page.click('button[type="submit"]');
      await page.waitForSelector(".flash.error");
      await page.fill('input[name="password"]', ADMIN_PASSWORD);
      await page.click('button[type="submit"]');
      await page.waitForURL(`${base}/admin/connections`);
      assert.equal(await page.textContent("h1"), "Connections");
    });

    await t.step("a new connection appears live; closing it gives its client 3502", async () => {
      const before = await cids();
      const ws = await TestClient.connect(relay.url);
      const cid = await newCid(before);
      const row = page.locator(`tr[data-cid="${cid}"]`);
      await row.waitFor();
      assert.equal(await page.textContent('[data-testid="connection-count"]'), "1");
      await shot(page, "connections");
      await shot(page, "connections", 390);
      await row.locator("button").click();
      const closed = await ws.closed();
      assert.equal(closed.code, 3502);
      assert.equal(closed.reason, "restricted: connection was closed by the server");
      await row.waitFor({ state: "detached" });
    });

    await t.step("maintenance on refuses new websockets with 3503; off accepts them", async () => {
      await page.goto(`${base}/admin/config`);
      await page.click("text=Turn maintenance on");
      await page.waitForSelector('[data-testid="maintenance-state"]:text("on")');
      await shot(page, "config");
      const refused = await TestClient.connect(relay.url);
      const closed = await refused.closed();
      assert.equal(closed.code, 3503);
      await page.click("text=Turn maintenance off");
      await page.waitForSelector('[data-testid="maintenance-state"]:text("off")');
      await using accepted = await TestClient.connect(relay.url);
      assert.deepEqual((await accepted.req("s", { limit: 0 })).events, []);
    });

    const member = signer();
    await t.step("granting a subscription raises a waiting client's level to 3", async () => {
      const before = await cids();
      await using ws = await TestClient.connect(relay.url);
      const cid = await newCid(before);
      const auth = authEvent(member, await challengeOf(ws), { relay: RELAY_URL });
      ws.send(["AUTH", auth]);
      assert.equal((await ws.ok(auth.id))[2], true);
      const early = await ws.publish(member.sign({ content: "before the subscription" }));
      assert.equal(early[2], false);
      assert.match(early[3], /^(auth-required|restricted): /);

      await page.goto(`${base}/admin/subscriptions`);
      await page.fill('form:has(input[value="grant"]) input[name="pubkey"]', member.pubkey);
      await page.fill('form:has(input[value="grant"]) input[name="days"]', "30");
      await page.click('form:has(input[value="grant"]) button[type="submit"]');
      await page.waitForSelector(".flash.ok");
      assert.match(await page.textContent(".flash.ok") ?? "", /Subscription active until/);
      await page.waitForSelector(`tr[data-pubkey="${member.pubkey}"]`);
      await shot(page, "subscriptions");
      await until(
        "level 3 in authorizations",
        async () => await relay.redis.hget(relay.keys.authorizations, cid) === "3",
      );
      const ok = await ws.publish(
        member.sign({ content: "now a subscriber", tags: [["t", "ui"]] }),
      );
      assert.equal(ok[2], true, ok[3]);

      await page.goto(`${base}/admin/connections`);
      const badge = page.locator(`tr[data-cid="${cid}"] [data-testid="level"]`);
      assert.match(await badge.textContent() ?? "", /^3 subscriber/);
    });

    await t.step("banning a pubkey from the events page refuses its next EVENT", async () => {
      await using ws = await TestClient.connect(relay.url);
      const auth = authEvent(member, await challengeOf(ws), { relay: RELAY_URL });
      ws.send(["AUTH", auth]);
      assert.equal((await ws.ok(auth.id))[2], true);
      await page.goto(`${base}/admin/events?author=${member.pubkey}`);
      await page.waitForSelector('[data-testid="events"] tbody tr');
      await shot(page, "events");
      await page.fill('form:has(input[value="ban-pubkey"]) input[name="reason"]', "spam");
      await page.click('form:has(input[value="ban-pubkey"]) button[type="submit"]');
      await page.waitForSelector(".flash.ok");
      assert.match(await page.textContent(".flash.ok") ?? "", /Pubkey banned/);
      const refused = await ws.publish(member.sign({ content: "after the ban" }));
      assert.equal(refused[2], false);
      assert.equal(refused[3], "blocked: this pubkey is banned");
    });

    await t.step("users and trusted authors are managed from their pages", async () => {
      const someone = signer();
      await page.goto(`${base}/admin/users`);
      await page.fill('input[name="email"]', "member@relay.test");
      await page.fill('input[name="password"]', "member password 1");
      await page.click("text=Create user");
      await page.waitForSelector(".flash.ok");
      await page.click(`td a:text-is("member@relay.test")`);
      await page.waitForURL(/\/admin\/users\/\d+$/);
      await page.fill('form:has(input[value="link"]) input[name="pubkey"]', someone.pubkey);
      await page.click("text=Link pubkey");
      await page.waitForSelector(`.flash.ok:text("Pubkey linked.")`);
      assert.equal(await page.locator(`a[title="${someone.pubkey}"]`).count(), 1);
      await page.click("text=Make admin");
      await page.waitForSelector('.flash.ok:text("Now an admin.")');
      await shot(page, "user");

      await page.goto(`${base}/admin/trusted`);
      await page.fill('input[name="pubkey"]', someone.pubkey);
      await page.click(`button:text-is("Trust")`);
      await page.waitForSelector('.flash.ok:text("Added to the trusted authors.")');
      assert.equal(await page.locator(`a[title="${someone.pubkey}"]`).count(), 1);
      await shot(page, "trusted");
    });

    await t.step("every other page renders (screenshots)", async () => {
      // Something to chart: events of a few kinds over two days, an hour of connection samples
      // (as the workers' SampleConnections job writes them), and a failed job.
      const author = signer();
      await addTrustedAuthor(relay.admin!.deps.services, author.pubkey);
      await using ws = await TestClient.connect(relay.url);
      const auth = authEvent(author, await challengeOf(ws), { relay: RELAY_URL });
      ws.send(["AUTH", auth]);
      assert.equal((await ws.ok(auth.id))[2], true);
      const now = Math.floor(Date.now() / 1000);
      const kinds = [1, 1, 1, 7, 7, 0, 3, 30023, 1, 7];
      for (let i = 0; i < 40; i++) {
        const kind = kinds[i % kinds.length]!;
        const e = author.sign({
          kind,
          content: kind === 7 ? "+" : `post ${i}`,
          tags: kind === 30023 ? [["d", `a${i}`]] : [],
          created_at: now - Math.floor(((i * 37) % 47) * 3600 + i * 11),
        });
        assert.equal((await ws.publish(e))[2], true);
      }
      const samples = Array.from(
        { length: 60 },
        (_, i) => `${now - (60 - i) * 60}:${Math.round(3 + 2 * Math.sin(i / 8) + i / 15)}`,
      );
      await relay.redis.lpush(relay.keys.statsConnections, ...samples);
      await withQueue(relay.admin!.deps.services, "housekeeping", (q) => q.add("NoSuchJob", {}));

      const [stored] = await relay.sql<{ id: string }[]>`
        select encode(event_id, 'hex') as id from events limit 1`;
      const pages: [string, string][] = [
        ["overview", "/admin"],
        ["users", "/admin/users"],
        ["event", `/admin/events/${stored!.id}`],
        ["moderation", "/admin/moderation"],
        ["jobs", "/admin/jobs"],
      ];
      for (const [name, path] of pages) {
        const res = await page.goto(`${base}${path}`);
        assert.equal(res?.status(), 200, path);
        await shot(page, name);
      }
      await page.goto(`${base}/admin/events`);
      await shot(page, "events-all", 390);
    });

    assert.deepEqual(errors, [], "no script errors in the browser");
  } finally {
    await browser.close();
  }
});
