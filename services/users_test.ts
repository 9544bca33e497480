import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { JOBS } from "../lib/contract.ts";
import type { OwnedServiceDeps } from "./deps.ts";
import {
  createOrResetAdmin,
  createUser,
  deleteUser,
  ensureBootstrapAdmin,
  getUserByEmail,
  isAdminPubkey,
  linkPubkey,
  listUsers,
  setAdmin,
  setConfirmed,
  setPassword,
  unlinkPubkey,
  verifyPassword,
} from "./users.ts";
import { randomHex, randomPubkey, serviceSuite } from "./_testing.ts";

const suite = serviceSuite();

function email() {
  return `u${randomHex(8)}@Example.com`;
}

async function recomputed(deps: OwnedServiceDeps): Promise<string[]> {
  const jobs = await deps.queues.auth.getJobs(["waiting", "prioritized", "delayed"]);
  const out = jobs.filter((j) => j.name === JOBS.recomputeLevels)
    .flatMap((j) => (j.data as { pubkeys: string[] }).pubkeys);
  await deps.queues.auth.drain(true);
  return out.sort();
}

suite.test("createUser() stores a lowercase email and a PBKDF2 hash; verifyPassword() logs in", async ({ deps }) => {
  const e = email();
  const user = await createUser(deps, { email: e, password: "password-1", admin: true });
  assert.equal(user.email, e.toLowerCase());
  assert.equal(user.admin, true);
  assert.ok(user.confirmedAt instanceof Date);
  const [row] = await deps.sql`select password_hash from users where id = ${user.id}`;
  assert.match(row!.password_hash, /^pbkdf2_sha256\$600000\$/);
  assert.equal((await verifyPassword(deps, e.toUpperCase(), "password-1"))?.id, user.id);
  assert.equal(await verifyPassword(deps, e, "password-2"), null);
  assert.equal(await verifyPassword(deps, "nobody@example.com", "password-1"), null);
  await assert.rejects(() => createUser(deps, { email: e, password: "password-1" }), {
    code: "conflict",
  });
  await assert.rejects(() => createUser(deps, { email: "bad", password: "password-1" }), {
    code: "invalid",
  });
  await assert.rejects(() => createUser(deps, { email: email(), password: "short" }), {
    code: "invalid",
    message: /at least 8 characters/,
  });
});

suite.test("setPassword() changes the password; setAdmin() keeps at least one admin", async ({ deps }) => {
  const a = await createUser(deps, { email: email(), password: "first-password", admin: true });
  await setPassword(deps, a.id, "second-password");
  assert.equal(await verifyPassword(deps, a.email, "first-password"), null);
  assert.ok(await verifyPassword(deps, a.email, "second-password"));
  const b = await createUser(deps, { email: email(), password: "password-b" });
  assert.equal(b.admin, false);
  assert.equal((await setAdmin(deps, b.id, true)).admin, true);
  await deps.sql`update users set admin = false where id not in (${a.id}, ${b.id})`;
  assert.equal((await setAdmin(deps, a.id, false)).admin, false);
  await assert.rejects(() => setAdmin(deps, b.id, false), { code: "conflict" });
  await assert.rejects(() => deleteUser(deps, b.id), { code: "conflict" });
  await assert.rejects(() => setPassword(deps, 999999, "password-x"), { code: "not_found" });
});

suite.test("linkPubkey()/unlinkPubkey() recompute levels; a pubkey has one user", async ({ deps }) => {
  await deps.queues.auth.drain(true);
  const u1 = await createUser(deps, { email: email(), password: "password-1" });
  const u2 = await createUser(deps, { email: email(), password: "password-2" });
  const pk = randomPubkey();
  const linked = await linkPubkey(deps, u1.id, pk, { nip05: "alice" });
  assert.deepEqual(linked.pubkeys, [pk]);
  await linkPubkey(deps, u1.id, pk, { nip05: "alice2" });
  await assert.rejects(() => linkPubkey(deps, u2.id, pk), { code: "conflict" });
  await assert.rejects(() => linkPubkey(deps, u2.id, randomPubkey(), { nip05: "alice2" }), {
    code: "conflict",
  });
  assert.equal(await unlinkPubkey(deps, pk), true);
  assert.equal(await unlinkPubkey(deps, pk), false);
  const jobs = await recomputed(deps);
  assert.ok(jobs.filter((p) => p === pk).length >= 3);
  const other = randomPubkey();
  await linkPubkey(deps, u2.id, other);
  await setConfirmed(deps, u2.id, false);
  await deleteUser(deps, u2.id);
  assert.ok((await recomputed(deps)).filter((p) => p === other).length >= 3);
  assert.equal(await getUserByEmail(deps, u2.email), null);
});

suite.test("listUsers() pages by id and searches emails", async ({ deps }) => {
  const tag = randomHex(6);
  for (let i = 0; i < 3; i++) {
    await createUser(deps, { email: `${tag}${i}@example.com`, password: "password-x" });
  }
  const found = await listUsers(deps, { search: tag.toUpperCase() });
  assert.deepEqual(found.items.map((u) => u.email), [2, 1, 0].map((i) => `${tag}${i}@example.com`));
  const seen: number[] = [];
  let cursor: string | null = null;
  do {
    const page = await listUsers(deps, { limit: 2, cursor });
    seen.push(...page.items.map((u) => u.id));
    cursor = page.next;
  } while (cursor);
  assert.deepEqual(seen, [...seen].sort((a, b) => b - a));
  assert.equal(new Set(seen).size, seen.length);
});

suite.test("ensureBootstrapAdmin() creates the first admin only while none exists", async ({ deps }) => {
  await deps.sql`update users set admin = false`;
  const e = email();
  const config = loadConfig({ ADMIN_EMAIL: e, ADMIN_PASSWORD: "boot-password" });
  const made = await ensureBootstrapAdmin({ sql: deps.sql, config });
  assert.equal(made?.email, e.toLowerCase());
  assert.equal(made?.admin, true);
  assert.ok(await verifyPassword(deps, e, "boot-password"));
  assert.equal(await ensureBootstrapAdmin({ sql: deps.sql, config }), null);
  const none = loadConfig({});
  assert.equal(await ensureBootstrapAdmin({ sql: deps.sql, config: none }), null);
});

suite.test("createOrResetAdmin() creates, then resets password and admin flag", async ({ deps }) => {
  const e = email();
  const first = await createOrResetAdmin(deps, e, "password-one");
  assert.equal(first.created, true);
  await setAdmin(deps, first.user.id, false).catch(() => {});
  const second = await createOrResetAdmin(deps, e.toUpperCase(), "password-two");
  assert.equal(second.created, false);
  assert.equal(second.user.id, first.user.id);
  assert.equal(second.user.admin, true);
  assert.ok(await verifyPassword(deps, e, "password-two"));
});

suite.test("isAdminPubkey(): ADMIN_PUBKEYS or a pubkey linked to an admin user", async ({ deps }) => {
  const listed = randomPubkey();
  const config = loadConfig({ ADMIN_PUBKEYS: listed.toUpperCase() });
  const d = { sql: deps.sql, config };
  assert.equal(await isAdminPubkey(d, listed), true);
  const admin = await createUser(deps, { email: email(), password: "password-a", admin: true });
  const user = await createUser(deps, { email: email(), password: "password-u" });
  const pa = randomPubkey();
  const pu = randomPubkey();
  await linkPubkey(deps, admin.id, pa);
  await linkPubkey(deps, user.id, pu);
  assert.equal(await isAdminPubkey(d, pa), true);
  assert.equal(await isAdminPubkey(d, pu), false);
  assert.equal(await isAdminPubkey(d, randomPubkey()), false);
});

suite.end();
