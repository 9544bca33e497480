import assert from "node:assert/strict";
import { JOBS } from "../lib/contract.ts";
import {
  addTrustedAuthor,
  extendSubscription,
  getSubscription,
  grantSubscription,
  listSubscriptions,
  listTrustedAuthors,
  removeTrustedAuthor,
  revokeSubscription,
} from "./access.ts";
import type { OwnedServiceDeps } from "./deps.ts";
import { randomPubkey, serviceSuite } from "./_testing.ts";

const suite = serviceSuite();
const DAY = 86_400_000;

/** Pubkeys of the RecomputeLevels jobs waiting on the auth queue (then removes them). */
async function recomputed(deps: OwnedServiceDeps): Promise<string[]> {
  const jobs = await deps.queues.auth.getJobs(["waiting", "prioritized", "delayed"]);
  const out = jobs.filter((j) => j.name === JOBS.recomputeLevels)
    .flatMap((j) => (j.data as { pubkeys: string[] }).pubkeys);
  await deps.queues.auth.drain(true);
  return out.sort();
}

suite.test("addTrustedAuthor() trusts once, enqueues RecomputeLevels; remove undoes", async ({ deps }) => {
  await deps.queues.auth.drain(true);
  const pk = randomPubkey();
  assert.equal(await addTrustedAuthor(deps, pk.toUpperCase()), true);
  assert.equal(await addTrustedAuthor(deps, pk), false);
  assert.deepEqual(await recomputed(deps), [pk, pk]);
  const page = await listTrustedAuthors(deps);
  assert.ok(page.items.some((t) => t.pubkey === pk));
  assert.equal(await removeTrustedAuthor(deps, pk), true);
  assert.equal(await removeTrustedAuthor(deps, pk), false);
  assert.deepEqual(await recomputed(deps), [pk, pk]);
});

suite.test("addTrustedAuthor() refuses a bad pubkey with a ServiceError", async ({ deps }) => {
  await assert.rejects(() => addTrustedAuthor(deps, "abc"), {
    name: "ServiceError",
    code: "invalid",
    message: /Cannot trust author: "abc" is not a pubkey/,
  });
});

// TODO(#4): keyset paging of admin lists intermittently skips a row at a page boundary
// (seen in about 1 run in 3 under load); ignored until fixed, see the issue 4 note.
suite.test("listTrustedAuthors() pages with a keyset cursor, newest first", async ({ deps }) => {
  const pks = [randomPubkey(), randomPubkey(), randomPubkey(), randomPubkey(), randomPubkey()];
  for (const pk of pks) await addTrustedAuthor(deps, pk);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await listTrustedAuthors(deps, { limit: 2, cursor });
    assert.ok(page.items.length <= 2);
    seen.push(...page.items.map((t) => t.pubkey));
    cursor = page.next;
  } while (cursor);
  assert.equal(new Set(seen).size, seen.length, "no row twice");
  const mine = seen.filter((p) => pks.includes(p));
  assert.deepEqual(mine, [...pks].reverse());
  await assert.rejects(() => listTrustedAuthors(deps, { cursor: "nonsense" }), /cursor/);
}, { ignore: true });

suite.test("grantSubscription() sets now + N days; extend adds; negative shortens", async ({ deps }) => {
  const pk = randomPubkey();
  const granted = await grantSubscription(deps, pk, 10);
  assert.equal(granted.active, true);
  assert.ok(Math.abs(granted.expiresAt.getTime() - (Date.now() + 10 * DAY)) < 60_000);
  const extended = await extendSubscription(deps, pk, 5);
  assert.ok(Math.abs(extended.expiresAt.getTime() - granted.expiresAt.getTime() - 5 * DAY) < 1000);
  const shortened = await extendSubscription(deps, pk, -20);
  assert.equal(shortened.active, false);
  // extending an expired subscription starts from now, not from the past expiry
  const revived = await extendSubscription(deps, pk, 3);
  assert.ok(Math.abs(revived.expiresAt.getTime() - (Date.now() + 3 * DAY)) < 60_000);
  assert.equal(revived.active, true);
  await grantSubscription(deps, pk, 1);
  assert.ok(
    Math.abs((await getSubscription(deps, pk))!.expiresAt.getTime() - (Date.now() + DAY)) < 60_000,
  );
});

suite.test("extendSubscription() of a missing subscription: positive creates, negative is not_found", async ({ deps }) => {
  const pk = randomPubkey();
  await assert.rejects(() => extendSubscription(deps, pk, -1), { code: "not_found" });
  const s = await extendSubscription(deps, pk, 2);
  assert.equal(s.active, true);
  await assert.rejects(() => extendSubscription(deps, pk, 0), { code: "invalid" });
  await assert.rejects(() => grantSubscription(deps, pk, -3), { code: "invalid" });
});

suite.test("listSubscriptions() filters by status and pages; revoke removes", async ({ deps }) => {
  await deps.queues.auth.drain(true);
  const active = randomPubkey();
  const expired = randomPubkey();
  await grantSubscription(deps, active, 30);
  await grantSubscription(deps, expired, 1);
  await extendSubscription(deps, expired, -2);
  const act = await listSubscriptions(deps, { status: "active", limit: 500 });
  assert.ok(act.items.some((s) => s.pubkey === active));
  assert.ok(!act.items.some((s) => s.pubkey === expired));
  const exp = await listSubscriptions(deps, { status: "expired", limit: 500 });
  assert.ok(exp.items.some((s) => s.pubkey === expired));
  const all: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await listSubscriptions(deps, { limit: 1, cursor });
    all.push(...page.items.map((s) => s.pubkey));
    cursor = page.next;
  } while (cursor);
  assert.ok(all.includes(active) && all.includes(expired));
  assert.equal(new Set(all).size, all.length);
  assert.equal(await revokeSubscription(deps, active), true);
  assert.equal(await revokeSubscription(deps, active), false);
  assert.equal(await getSubscription(deps, active), null);
  const jobs = await recomputed(deps);
  assert.ok(jobs.includes(active) && jobs.includes(expired));
});

suite.end();
