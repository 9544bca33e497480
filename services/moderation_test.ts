import assert from "node:assert/strict";
import { BLOCKED_IP_CLOSE, decodeReply } from "../lib/contract.ts";
import { connectRedis } from "../lib/redis.ts";
import { getEvent } from "./events.ts";
import {
  allowedMethods,
  allowEvent,
  allowKind,
  allowPubkey,
  assignMethod,
  assignRole,
  banEvent,
  banPubkey,
  blockIp,
  changeRelayDescription,
  changeRelayIcon,
  changeRelayName,
  clearKind,
  createRole,
  deleteRole,
  disallowKind,
  editRole,
  getKindPolicy,
  getRelayInfo,
  listAllowedEvents,
  listAllowedPubkeys,
  listBannedEvents,
  listBannedPubkeys,
  listBlockedIps,
  listEventsNeedingModeration,
  listMethodAssignees,
  listRoles,
  NIP86_METHODS,
  unallowEvent,
  unallowPubkey,
  unassignMethod,
  unassignRole,
  unbanEvent,
  unbanPubkey,
  unblockIp,
} from "./moderation.ts";
import { createUser, linkPubkey } from "./users.ts";
import { store } from "./_store.ts";
import { randomHex, randomPubkey, serviceSuite, testSigner } from "./_testing.ts";

const suite = serviceSuite();

suite.test("banPubkey() bans (reason kept), removes from the allow list, announces the change", async ({ deps }) => {
  const sub = connectRedis(deps.config.redisUrl);
  const messages: string[] = [];
  sub.on("message", (_c, m) => messages.push(m));
  await sub.subscribe(deps.keys.moderationChannel);
  try {
    const pk = randomPubkey();
    assert.equal(await allowPubkey(deps, pk, "friend"), true);
    assert.equal(await banPubkey(deps, pk, { reason: "spam" }).then((r) => r.banned), true);
    assert.equal(await banPubkey(deps, pk).then((r) => r.banned), false);
    const banned = await listBannedPubkeys(deps);
    assert.deepEqual(banned.items.map((b) => [b.pubkey, b.reason]), [[pk, "spam"]]);
    assert.deepEqual((await listAllowedPubkeys(deps)).items, []);
    assert.equal(await unbanPubkey(deps, pk), true);
    assert.equal(await unbanPubkey(deps, pk), false);
    assert.deepEqual((await listAllowedPubkeys(deps)).items, [], "unban does not allow");
    assert.equal(await allowPubkey(deps, pk), true);
    assert.equal(await unallowPubkey(deps, pk), true);
    assert.deepEqual((await listBannedPubkeys(deps)).items, [], "unallow does not ban");
    const version = Number(await deps.redis.get(deps.keys.moderationVersion));
    assert.ok(version >= 7);
    await deps.redis.publish(deps.keys.moderationChannel, "end");
    while (!messages.includes("end")) await new Promise((r) => setTimeout(r, 5));
    assert.equal(messages.length, 8);
    assert.equal(messages[6], String(version));
  } finally {
    await sub.quit();
  }
});

suite.test("banPubkey({deleteEvents}) purges the pubkey's events", async ({ deps }) => {
  const spammer = testSigner();
  await store(deps, spammer.sign(), spammer.sign(), spammer.sign());
  const r = await banPubkey(deps, spammer.pubkey, { deleteEvents: true });
  assert.deepEqual(r, { banned: true, deleted: 3 });
  await unbanPubkey(deps, spammer.pubkey);
});

suite.test("banEvent() deletes a stored event and lists it; allowEvent() lifts the ban", async ({ deps }) => {
  const author = testSigner();
  const e = author.sign({ content: "bad" });
  await store(deps, e);
  assert.deepEqual(await banEvent(deps, e.id, "illegal"), { banned: true, deleted: true });
  assert.equal((await getEvent(deps, e.id)).event, null);
  assert.equal((await getEvent(deps, e.id)).banned, true);
  const listed = await listBannedEvents(deps);
  assert.deepEqual(listed.items.map((b) => [b.id, b.pubkey, b.reason]), [[
    e.id,
    author.pubkey,
    "illegal",
  ]]);
  const unknown = randomHex(64);
  assert.deepEqual(await banEvent(deps, unknown), { banned: true, deleted: false });
  assert.equal(await allowEvent(deps, e.id, "appeal"), true);
  assert.deepEqual((await listBannedEvents(deps)).items.map((b) => b.id), [unknown]);
  assert.deepEqual((await listAllowedEvents(deps)).items.map((b) => [b.id, b.reason]), [[
    e.id,
    "appeal",
  ]]);
  assert.equal(await unallowEvent(deps, e.id), true);
  assert.equal(await unbanEvent(deps, unknown), true);
  assert.deepEqual((await listBannedEvents(deps)).items, []);
  await assert.rejects(() => banEvent(deps, "nope"), { code: "invalid" });
});

// TODO(#4): keyset paging of admin lists intermittently skips a row at a page boundary
// (seen in about 1 run in 3 under load); ignored until fixed, see the issue 4 note.
suite.test("ban lists page with a keyset cursor", async ({ deps }) => {
  const pks = Array.from({ length: 5 }, randomPubkey);
  for (const pk of pks) await banPubkey(deps, pk);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await listBannedPubkeys(deps, { limit: 2, cursor });
    seen.push(...page.items.map((p) => p.pubkey));
    cursor = page.next;
  } while (cursor);
  assert.deepEqual([...seen].sort(), [...pks].sort());
  for (const pk of pks) await unbanPubkey(deps, pk);
}, { ignore: true });

suite.test("listEventsNeedingModeration(): reported, stored, neither banned nor allowed", async ({ deps }) => {
  const author = testSigner();
  const r1 = testSigner();
  const r2 = testSigner();
  const a = author.sign({ content: "reported twice" });
  const b = author.sign({ content: "reported once" });
  const c = author.sign({ content: "reported, then allowed" });
  const d = author.sign({ content: "reported, then banned" });
  await store(deps, a, b, c, d);
  const now = Math.floor(Date.now() / 1000);
  await store(
    deps,
    r1.sign({ kind: 1984, tags: [["e", a.id, "spam"]], created_at: now - 50 }),
    r2.sign({
      kind: 1984,
      tags: [["e", a.id, "nudity"], ["p", author.pubkey]],
      created_at: now - 40,
    }),
    r1.sign({ kind: 1984, tags: [["e", b.id]], created_at: now - 60 }),
    r1.sign({ kind: 1984, tags: [["e", c.id, "spam"], ["e", d.id, "spam"]], created_at: now - 30 }),
    r2.sign({ kind: 1984, tags: [["e", randomHex(64), "spam"]], created_at: now - 20 }),
  );
  await allowEvent(deps, c.id);
  await banEvent(deps, d.id);
  const queue = await listEventsNeedingModeration(deps);
  assert.deepEqual(queue.map((q) => [q.id, q.reports, q.types]), [
    [a.id, 2, ["nudity", "spam"]],
    [b.id, 1, []],
  ]);
  assert.equal(queue[0]!.reason, "2 reports: nudity, spam");
  assert.equal(queue[1]!.reason, "1 report");
  assert.equal(queue[0]!.pubkey, author.pubkey);
  assert.equal(queue[0]!.lastReportAt, now - 40);
});

suite.test("kind policy: allow list and disallowed kinds, mutually exclusive", async ({ deps }) => {
  await allowKind(deps, 1);
  await allowKind(deps, 7);
  await disallowKind(deps, 4);
  assert.deepEqual(await getKindPolicy(deps), { allowed: [1, 7], disallowed: [4] });
  await disallowKind(deps, 7);
  assert.deepEqual(await getKindPolicy(deps), { allowed: [1], disallowed: [4, 7] });
  assert.equal(await clearKind(deps, 1), true);
  assert.equal(await clearKind(deps, 1), false);
  await clearKind(deps, 4);
  await clearKind(deps, 7);
  assert.deepEqual(await getKindPolicy(deps), { allowed: [], disallowed: [] });
  await assert.rejects(() => allowKind(deps, -1), { code: "invalid" });
  await assert.rejects(() => disallowKind(deps, 65536), { code: "invalid" });
});

suite.test("blockIp() adds to the set admission reads and closes live connections from it", async ({ deps }) => {
  const k = deps.keys;
  const cid = randomHex(32);
  const other = randomHex(32);
  await deps.redis.multi().sadd(k.connections, cid, other)
    .hset(k.connectionsIps, cid, "203.0.113.9", other, "203.0.113.10").exec();
  const sub = connectRedis(deps.config.redisUrl);
  try {
    const got = new Promise<string>((resolve) => sub.on("message", (_c, m) => resolve(m)));
    await sub.subscribe(k.connectionChannel(cid));
    assert.deepEqual(await blockIp(deps, "203.0.113.9", "abuse"), { blocked: true, closed: 1 });
    assert.deepEqual(decodeReply(await got).header, { op: "close", ...BLOCKED_IP_CLOSE });
  } finally {
    await sub.quit();
  }
  assert.equal(await deps.redis.sismember(k.blockedIps, "203.0.113.9"), 1);
  assert.equal((await blockIp(deps, "2001:DB8::1")).blocked, true);
  const list = await listBlockedIps(deps);
  assert.deepEqual(list.map((b) => [b.ip, b.reason]), [["2001:db8::1", ""], [
    "203.0.113.9",
    "abuse",
  ]]);
  assert.ok(list[1]!.createdAt instanceof Date);
  assert.equal(await unblockIp(deps, "203.0.113.9"), true);
  assert.equal(await unblockIp(deps, "203.0.113.9"), false);
  assert.equal(await deps.redis.sismember(k.blockedIps, "203.0.113.9"), 0);
  await unblockIp(deps, "2001:db8::1");
  await assert.rejects(() => blockIp(deps, "999.1.1.1"), { code: "invalid" });
  await deps.redis.del(k.connections, k.connectionsIps);
});

suite.test("relay info overrides: set, validate, restore", async ({ deps }) => {
  assert.deepEqual(await getRelayInfo(deps), {});
  await changeRelayName(deps, "  Moderated relay ");
  await changeRelayDescription(deps, "A place");
  await changeRelayIcon(deps, "https://example.com/icon.png");
  assert.deepEqual(await getRelayInfo(deps), {
    name: "Moderated relay",
    description: "A place",
    icon: "https://example.com/icon.png",
  });
  await assert.rejects(() => changeRelayIcon(deps, "javascript:alert(1)"), { code: "invalid" });
  await assert.rejects(() => changeRelayName(deps, "x".repeat(101)), { code: "invalid" });
  await changeRelayName(deps, null);
  await changeRelayDescription(deps, null);
  await changeRelayIcon(deps, null);
  assert.deepEqual(await getRelayInfo(deps), {});
});

suite.test("roles and method grants; allowedMethods() for admins, grantees and others", async ({ deps }) => {
  const pk = randomPubkey();
  await createRole(deps, {
    id: "mod",
    label: "Moderator",
    description: "d",
    color: "#f00",
    order: 2,
  });
  await assert.rejects(() => createRole(deps, { id: "mod" }), { code: "conflict" });
  await editRole(deps, { id: "mod", label: "Mods", order: 1 });
  await assert.rejects(() => editRole(deps, { id: "nope" }), { code: "not_found" });
  await assignRole(deps, pk, "mod");
  await assert.rejects(() => assignRole(deps, pk, "nope"), { code: "not_found" });
  assert.deepEqual(await listRoles(deps), [
    { id: "mod", label: "Mods", description: "", color: "", order: 1, pubkeys: [pk] },
  ]);
  assert.equal(await unassignRole(deps, pk, "mod"), true);
  await deleteRole(deps, "mod");
  assert.deepEqual(await listRoles(deps), []);

  assert.deepEqual(await allowedMethods(deps, pk), []);
  assert.deepEqual(await assignMethod(deps, pk, "banpubkey"), [true, "granted"]);
  assert.deepEqual(await assignMethod(deps, pk, "frobnicate"), [
    false,
    'unknown method "frobnicate"',
  ]);
  assert.deepEqual(await allowedMethods(deps, pk), ["supportedmethods", "banpubkey"]);
  assert.deepEqual(await listMethodAssignees(deps), [{ pubkey: pk, methods: ["banpubkey"] }]);
  assert.deepEqual(await unassignMethod(deps, pk, "banpubkey"), [true, "revoked"]);
  assert.deepEqual(await unassignMethod(deps, pk, "banpubkey"), [false, "not granted"]);

  const admin = await createUser(deps, {
    email: `a${randomHex(6)}@example.com`,
    password: "password-a",
    admin: true,
  });
  const adminKey = randomPubkey();
  await linkPubkey(deps, admin.id, adminKey);
  assert.deepEqual(await allowedMethods(deps, adminKey), NIP86_METHODS);
});

suite.end();
