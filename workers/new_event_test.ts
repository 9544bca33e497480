import assert from "node:assert/strict";
import { UnrecoverableError } from "bullmq";
import { connectPostgres } from "../lib/db.ts";
import { canonicalJson, powDifficulty } from "../lib/nostr/event.ts";
import { newEvent } from "./new_event.ts";
import { newCid, newSigner, nowSeconds, storedIds, workerSuite } from "./_test_helpers.ts";

const suite = workerSuite({ CREATED_AT_LOWER_LIMIT: "3600", CREATED_AT_UPPER_LIMIT: "900" });

suite.test("newEvent() stores a regular event, answers OK true, publishes it live once", async (fx) => {
  fx.replies.drain(fx.keys.liveChannel);
  const e = newSigner().sign({ content: "hello world", tags: [["t", "nostr"]] });
  assert.deepEqual(await fx.publish(e), [true, ""]);
  assert.equal(await fx.replies.next(fx.keys.liveChannel), canonicalJson(e));
  const [row] = await fx.sql`select e.kind, e.created_at, e.d_tag, e.expires_at, e.raw,
    encode(a.pubkey, 'hex') as pubkey from events e join authors a on a.id = e.author_id
    where e.event_id = decode(${e.id}, 'hex')`;
  assert.deepEqual({ ...row }, {
    kind: 1,
    created_at: e.created_at,
    d_tag: null,
    expires_at: null,
    raw: canonicalJson(e),
    pubkey: e.pubkey,
  });
  await fx.replies.expectNothingMore(fx.redis, fx.keys.liveChannel);
});

suite.test("newEvent() answers duplicate: on a re-run without publishing live again", async (fx) => {
  const e = newSigner().sign();
  assert.deepEqual(await fx.publish(e), [true, ""]);
  fx.replies.drain(fx.keys.liveChannel);
  assert.deepEqual(await fx.publish(e), [false, "duplicate: already have this event"]);
  await fx.replies.expectNothingMore(fx.redis, fx.keys.liveChannel);
  const [row] = await fx.sql`select count(*)::int as n from events
    where event_id = decode(${e.id}, 'hex')`;
  assert.equal(row?.n, 1);
});

suite.test("newEvent() refuses a bad signature and stores nothing", async (fx) => {
  const s = newSigner();
  const a = s.sign();
  const b = s.sign();
  assert.deepEqual(await fx.publish({ ...a, sig: b.sig }), [false, "invalid: bad signature"]);
  assert.deepEqual(await storedIds(fx.sql).then((ids) => ids.includes(a.id)), false);
});

suite.test("newEvent() refuses an event whose id does not match its content", async (fx) => {
  const e = newSigner().sign({ content: "original" });
  const reply = await fx.publish({ ...e, content: "changed" });
  assert.deepEqual(reply, [false, "invalid: event id does not match its content"]);
});

suite.test("newEvent() enforces the created_at limits", async (fx) => {
  const s = newSigner();
  const now = nowSeconds();
  const future = s.sign({ created_at: now + 1000 });
  assert.deepEqual(await fx.publish(future), [
    false,
    "invalid: created_at is too far in the future",
  ]);
  const past = s.sign({ created_at: now - 4000 });
  assert.deepEqual(await fx.publish(past), [false, "invalid: created_at is too far in the past"]);
  assert.deepEqual(await fx.publish(s.sign({ created_at: now + 800 })), [true, ""]);
  assert.deepEqual(await fx.publish(s.sign({ created_at: now - 3500 })), [true, ""]);
});

suite.test("newEvent() applies NIP-40 expiration tags", async (fx) => {
  const s = newSigner();
  const now = nowSeconds();
  const expired = s.sign({ tags: [["expiration", String(now - 1)]] });
  assert.deepEqual(await fx.publish(expired), [false, "invalid: event has expired"]);
  const malformed = s.sign({ tags: [["expiration", "tomorrow"]] });
  assert.deepEqual(await fx.publish(malformed), [false, "invalid: malformed expiration tag"]);
  const later = s.sign({ tags: [["expiration", String(now + 600)]] });
  assert.deepEqual(await fx.publish(later), [true, ""]);
  const [row] = await fx
    .sql`select expires_at from events where event_id = decode(${later.id}, 'hex')`;
  assert.equal(row?.expires_at, now + 600);
});

suite.test("newEvent() enforces NIP-13 minimum difficulty and committed target", async (fx) => {
  const s = newSigner();
  const config = { ...fx.config, minPow: 8 };
  let weak = s.sign();
  while (powDifficulty(weak.id) >= 8) weak = s.sign();
  const d = powDifficulty(weak.id);
  assert.deepEqual(await fx.publish(weak, { deps: { config } }), [
    false,
    `pow: difficulty ${d} is less than 8`,
  ]);
  const underCommitted = s.mine(8, 4);
  assert.deepEqual(await fx.publish(underCommitted, { deps: { config } }), [
    false,
    "pow: committed target 4 is less than 8",
  ]);
  assert.deepEqual(await fx.publish(s.mine(8, 8), { deps: { config } }), [true, ""]);
  assert.deepEqual(await fx.publish(weak), [true, ""], "no minimum when NIP_13_MIN_POW is 0");
});

suite.test("newEvent() accepts a NIP-70 protected event only from its authenticated author", async (fx) => {
  const s = newSigner();
  const e = s.sign({ tags: [["-"]] });
  const refused = "auth-required: this event may only be published by its author";
  assert.deepEqual(await fx.publish(e), [false, refused]);
  assert.deepEqual(await fx.publish(e, { authed: [newSigner().pubkey] }), [false, refused]);
  assert.deepEqual(await fx.publish(e, { authed: [newSigner().pubkey, s.pubkey] }), [true, ""]);
});

suite.test("newEvent() reads NIP-70 authors only from a list of pubkeys in authed", async (fx) => {
  const s = newSigner();
  const e = s.sign({ tags: [["-"]] });
  const refused = "auth-required: this event may only be published by its author";
  const authed = `x${s.pubkey}` as unknown as string[];
  assert.deepEqual(await fx.publish(e, { authed }), [false, refused]);
  assert.deepEqual(await fx.publish(e, { authed: [s.pubkey.toUpperCase()] }), [false, refused]);
});

suite.test("newEvent() publishes an ephemeral event live without storing it", async (fx) => {
  fx.replies.drain(fx.keys.liveChannel);
  const e = newSigner().sign({ kind: 20001, content: "typing" });
  assert.deepEqual(await fx.publish(e), [true, ""]);
  assert.equal(await fx.replies.next(fx.keys.liveChannel), canonicalJson(e));
  assert.deepEqual(await storedIds(fx.sql, 20001), []);
});

suite.test("newEvent() indexes single-letter tags (first value, deduplicated) and search text", async (fx) => {
  const long = "x".repeat(1025);
  const e = newSigner().sign({
    content: "Searchable words here",
    tags: [["t", "a"], ["t", "a"], ["T", "a"], ["t", "b", "extra"], ["tt", "c"], ["p", long], [
      "e",
    ]],
  });
  assert.deepEqual(await fx.publish(e), [true, ""]);
  const tags = await fx.sql`select t.name, t.value, t.created_at from searchable_tags t
    join events e on e.id = t.event_id where e.event_id = decode(${e.id}, 'hex') order by 1, 2`;
  assert.deepEqual(tags.map((t) => [t.name, t.value, t.created_at]), [
    ["T", "a", e.created_at],
    ["t", "a", e.created_at],
    ["t", "b", e.created_at],
  ]);
  const [hit] = await fx.sql`select count(*)::int as n from searchable_contents c join events e
    on e.id = c.event_id where e.event_id = decode(${e.id}, 'hex') and c.tsv @@ to_tsquery('simple', 'words')`;
  assert.equal(hit?.n, 1);
  const reaction = newSigner().sign({ kind: 7, content: "+" });
  assert.deepEqual(await fx.publish(reaction), [true, ""]);
  const [none] = await fx.sql`select count(*)::int as n from searchable_contents c join events e
    on e.id = c.event_id where e.event_id = decode(${reaction.id}, 'hex')`;
  assert.equal(none?.n, 0, "kind 7 is not in NIP_50_CONTENT_SEARCHABLE_KINDS");
});

suite.test("newEvent() answers error: when PostgreSQL is unreachable and fails the job", async (fx) => {
  const dead = connectPostgres("postgres://postgres@127.0.0.1:1/none", { max: 1 });
  const cid = newCid();
  const e = newSigner().sign();
  const job = { data: { cid, authed: [], event: canonicalJson(e) } };
  await assert.rejects(newEvent(job, { ...fx.deps, sql: dead }), UnrecoverableError);
  assert.deepEqual(await fx.replies.ok(fx.keys.connectionChannel(cid)), [
    false,
    "error: could not store the event, try again",
  ]);
  await dead.end({ timeout: 0 });
});

suite.test("newEvent() answers error: within its bound when storing hangs, then publishes late", async (fx) => {
  const s = newSigner();
  const blocker = await fx.sql.reserve();
  try {
    await blocker`begin`;
    await blocker`select pg_advisory_xact_lock(1, hashtext(${s.pubkey}))`;
    fx.replies.drain(fx.keys.liveChannel);
    const e = s.sign();
    const cid = newCid();
    const job = { data: { cid, authed: [], event: canonicalJson(e) } };
    await assert.rejects(newEvent(job, { ...fx.deps, storeTimeoutMs: 300 }), UnrecoverableError);
    assert.deepEqual(await fx.replies.ok(fx.keys.connectionChannel(cid)), [
      false,
      "error: could not store the event, try again",
    ]);
    await blocker`commit`;
    assert.equal(await fx.replies.next(fx.keys.liveChannel), canonicalJson(e));
    assert.deepEqual(await fx.publish(e), [false, "duplicate: already have this event"]);
  } finally {
    blocker.release();
  }
});

suite.end();
