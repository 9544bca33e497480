/**
 * Admin pages over HTTP against a real relay: the overview's figures, the Jobs page's failures
 * with retry and discard, and the event browser's filters and keyset pages.
 */
import assert from "node:assert/strict";
import { QUEUES } from "../../lib/contract.ts";
import type { NostrEvent } from "../../lib/nostr/event.ts";
import { queueCounts, recentFailures } from "../../services/jobs.ts";
import { eventsPerHour, eventsPerKind } from "../../services/stats.ts";
import { withQueue } from "../../services/deps.ts";
import { signer, TestClient } from "../_client.ts";
import { startRelay } from "../_harness.ts";
import { login } from "./_admin.ts";

const ADMIN = { ADMIN_EMAIL: "admin@relay.test", ADMIN_PASSWORD: "a long admin password" };

async function until<T>(what: string, fn: () => Promise<T | undefined | false>): Promise<T> {
  const end = Date.now() + 10_000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("admin pages: overview figures, job failures, event filters and pages", async (t) => {
  await using relay = await startRelay(ADMIN, { admin: true });
  const services = relay.admin!.deps.services;
  const admin = await login(relay.httpUrl, ADMIN.ADMIN_EMAIL, ADMIN.ADMIN_PASSWORD);
  const alice = signer();
  const now = Math.floor(Date.now() / 1000);
  await using ws = await TestClient.connect(relay.url);
  const notes: NostrEvent[] = [];
  for (let i = 0; i < 5; i++) {
    const e = alice.sign({
      kind: 1,
      content: `note ${i} about pelicans`,
      created_at: now - 60 * i,
    });
    assert.equal((await ws.publish(e))[2], true);
    notes.push(e);
  }
  const reaction = alice.sign({
    kind: 7,
    content: "+",
    tags: [["e", notes[0]!.id]],
    created_at: now,
  });
  assert.equal((await ws.publish(reaction))[2], true);

  await t.step("the overview counts events per kind and per hour", async () => {
    const kinds = await eventsPerKind(services);
    assert.deepEqual(kinds.kinds, [{ kind: 1, count: 5 }, { kind: 7, count: 1 }]);
    assert.equal(kinds.total, 6);
    const hours = await eventsPerHour(services, { hours: 48 });
    assert.equal(hours.length, 48);
    assert.equal(hours.reduce((n, p) => n + p.v, 0), 6);
    const res = await admin.get("/admin");
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /Events per hour/);
    assert.match(html, /1 · note/);
    assert.match(html, /<svg class="chart"/);
    assert.match(html, /PostgreSQL \d+/);
  });

  await t.step("a failed job is listed with its error, retried, then discarded", async () => {
    await withQueue(services, "housekeeping", (q) => q.add("NoSuchJob", { x: 1 }));
    const failure = await until(
      "the failed job",
      async () => (await recentFailures(services)).find((f) => f.name === "NoSuchJob"),
    );
    assert.equal(failure.queue, "housekeeping");
    assert.match(failure.error, /unknown name "NoSuchJob"/);
    const page = await admin.get("/admin/jobs");
    const html = await page.text();
    assert.match(html, new RegExp(QUEUES.housekeeping));
    assert.match(html, /unknown name &quot;NoSuchJob&quot;/);

    const retried = await admin.post("/admin/jobs", {
      action: "retry",
      queue: "housekeeping",
      id: failure.id,
    });
    assert.equal(retried.status, 303);
    const flash = (r: Response, k: string) =>
      new URL(r.headers.get("location")!, relay.httpUrl).searchParams.get(k) ?? "";
    assert.match(flash(retried, "ok"), /^Job .* queued again/);
    // It fails again (the name is still unknown), and then it can be discarded.
    await until(
      "the job to fail again",
      async () =>
        (await recentFailures(services)).find((f) => f.id === failure.id && f.attempts >= 1) &&
        (await queueCounts(services)).find((q) => q.key === "housekeeping")!.failed === 1,
    );
    const discarded = await admin.post("/admin/jobs", {
      action: "discard",
      queue: "housekeeping",
      id: failure.id,
    });
    assert.equal(discarded.status, 303);
    assert.equal((await recentFailures(services)).some((f) => f.id === failure.id), false);
    const bad = await admin.post("/admin/jobs", { action: "retry", queue: "nope", id: "1" });
    assert.match(flash(bad, "error"), /^Cannot use queue/);
  });

  await t.step("the event browser filters and pages with a cursor", async () => {
    const kind1 = await (await admin.get(`/admin/events?kinds=1&author=${alice.pubkey}`)).text();
    for (const e of notes) assert.ok(kind1.includes(e.id), "every note is listed");
    assert.ok(!kind1.includes(reaction.id), "the reaction is filtered out");
    const tagged = await (await admin.get(`/admin/events?tag=e:${notes[0]!.id}`)).text();
    assert.ok(tagged.includes(reaction.id) && !tagged.includes(`/admin/events/${notes[1]!.id}`));
    const search = await (await admin.get("/admin/events?q=pelicans&kinds=1")).text();
    assert.equal(notes.filter((e) => search.includes(e.id)).length, 5);
    const since = new Date((now - 90) * 1000).toISOString().slice(0, 19);
    const recent = await (await admin.get(`/admin/events?kinds=1&since=${since}`)).text();
    assert.equal(notes.filter((e) => recent.includes(`/admin/events/${e.id}`)).length, 2);
    const first = await (await admin.get("/admin/events?kinds=1&limit=2")).text();
    const next = /href="([^"]*cursor=[^"]+)"/.exec(first)?.[1]?.replaceAll("&amp;", "&");
    assert.ok(next, "a next-page link");
    const second = await (await admin.get(next)).text();
    const onPage = (html: string) => notes.filter((e) => html.includes(`/admin/events/${e.id}`));
    assert.deepEqual(onPage(first).map((e) => e.id), [notes[0]!.id, notes[1]!.id]);
    assert.deepEqual(onPage(second).map((e) => e.id), [notes[2]!.id, notes[3]!.id]);
    const bad = await admin.get("/admin/events?kinds=abc");
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /is not a kind/);
  });

  await t.step("deleting an event from its page tombstones it", async () => {
    const target = notes[4]!;
    const res = await admin.post(`/admin/events/${target.id}`, { action: "delete" });
    assert.equal(res.status, 303);
    const view = await (await admin.get(`/admin/events/${target.id}`)).text();
    assert.match(view, /not stored/);
    assert.match(view, /deleted/);
    const again = await ws.publish(target);
    assert.equal(again[2], false);
    assert.match(again[3], /^blocked: /);
  });
});
