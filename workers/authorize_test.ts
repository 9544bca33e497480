import assert from "node:assert/strict";
import { UnrecoverableError } from "bullmq";
import { type AuthorizeJob, decodeReply, LEVELS } from "../lib/contract.ts";
import { connectPostgres } from "../lib/db.ts";
import { canonicalJson, type NostrEvent } from "../lib/nostr/event.ts";
import { AUTH_REASONS, authLevels, authorize } from "./authorize.ts";
import type { ProcessorDeps } from "./deps.ts";
import {
  accounts,
  authEvent,
  newCid,
  newSigner,
  type WorkerFixture,
  workerSuite,
} from "./_test_helpers.ts";

const suite = workerSuite();
const DAY = 86_400;

/** Runs Authorize for `event` (or raw JSON) and returns the reply published to its connection. */
async function run(
  fx: WorkerFixture,
  event: NostrEvent | string,
  deps: Partial<ProcessorDeps> = {},
) {
  const cid = newCid();
  const json = typeof event === "string" ? event : canonicalJson(event);
  const job: { data: AuthorizeJob } = { data: { cid, event: json } };
  const result = await authorize(job, { ...fx.deps, ...deps }).catch((err: Error) => err);
  const { header, lines } = decodeReply(await fx.replies.next(fx.keys.connectionChannel(cid)));
  assert.deepEqual(lines, []);
  return { header, result };
}

suite.test("authLevels() applies the level rules, first match wins", async (fx) => {
  const a = accounts(fx.sql);
  const pk = () => newSigner().pubkey;
  const trusted = pk();
  await a.trust(trusted);
  await a.subscribe(trusted, DAY);
  const subscriber = pk();
  await a.subscribe(subscriber, DAY);
  const lapsed = pk();
  await a.subscribe(lapsed, -60);
  const lapsedUser = await a.user(true);
  await a.link(lapsedUser, lapsed);
  const [sibling, paying] = [pk(), pk()];
  const family = await a.user(true);
  await a.link(family, sibling);
  await a.link(family, paying);
  await a.subscribe(paying, DAY);
  const [unconfirmed, unconfirmedPaying] = [pk(), pk()];
  const pending = await a.user(false);
  await a.link(pending, unconfirmed);
  await a.link(pending, unconfirmedPaying);
  await a.subscribe(unconfirmedPaying, DAY);
  const registered = pk();
  await a.link(await a.user(true), registered);
  const known = pk();
  await a.authorId(known);
  const unknown = pk();
  const expected = new Map([
    [trusted, LEVELS.trusted],
    [subscriber, LEVELS.subscriber],
    [lapsed, LEVELS.registered],
    [sibling, LEVELS.subscriber],
    [paying, LEVELS.subscriber],
    [unconfirmed, LEVELS.authenticated],
    [unconfirmedPaying, LEVELS.subscriber],
    [registered, LEVELS.registered],
    [known, LEVELS.authenticated],
    [unknown, LEVELS.authenticated],
  ]);
  assert.deepEqual(await authLevels(fx.sql, [...expected.keys()]), expected);
});

suite.test("authLevels() answers each input as given, in any case, and nothing for none", async (fx) => {
  const a = accounts(fx.sql);
  const trusted = newSigner().pubkey;
  await a.trust(trusted);
  const upper = trusted.toUpperCase();
  assert.deepEqual(
    await authLevels(fx.sql, [trusted, upper, trusted]),
    new Map([[trusted, LEVELS.trusted], [upper, LEVELS.trusted]]),
  );
  assert.deepEqual(await authLevels(fx.sql, []), new Map());
  await assert.rejects(authLevels(fx.sql, ["abc"]), RangeError);
  await assert.rejects(authLevels(fx.sql, [`${trusted.slice(1)}'`]), RangeError);
});

suite.test("authorize() answers ok with the level of the event's pubkey", async (fx) => {
  const a = accounts(fx.sql);
  const [stranger, friend, trusted] = [newSigner(), newSigner(), newSigner()];
  await a.subscribe(friend.pubkey, DAY);
  await a.trust(trusted.pubkey);
  for (const [signer, level] of [[stranger, 1], [friend, 3], [trusted, 4]] as const) {
    const e = authEvent(signer, newCid());
    const { header, result } = await run(fx, e);
    const expected = {
      op: "auth",
      eventId: e.id,
      pubkey: signer.pubkey,
      ok: true,
      level,
      reason: "",
    };
    assert.deepEqual(header, expected);
    assert.deepEqual(result, expected);
  }
});

suite.test("authorize() refuses a bad signature with level 0", async (fx) => {
  const s = newSigner();
  await accounts(fx.sql).trust(s.pubkey);
  const e = authEvent(s, newCid());
  const forged = { ...e, sig: newSigner().sign().sig };
  const { header } = await run(fx, forged);
  assert.deepEqual(header, {
    op: "auth",
    eventId: e.id,
    pubkey: s.pubkey,
    ok: false,
    level: 0,
    reason: "invalid: bad signature",
  });
});

suite.test("authorize() refuses other kinds and malformed events, and fails without an id", async (fx) => {
  const s = newSigner();
  const note = s.sign({ kind: 1 });
  assert.deepEqual((await run(fx, note)).header, {
    op: "auth",
    eventId: note.id,
    pubkey: s.pubkey,
    ok: false,
    level: 0,
    reason: AUTH_REASONS.wrongKind,
  });
  const e = authEvent(s, newCid());
  const tampered = canonicalJson({ ...e, content: "changed" });
  assert.deepEqual((await run(fx, tampered)).header, {
    op: "auth",
    eventId: e.id,
    pubkey: s.pubkey,
    ok: false,
    level: 0,
    reason: "invalid: event id does not match its content",
  });
  const job = { data: { cid: newCid(), event: "not json" } };
  await assert.rejects(authorize(job, fx.deps), UnrecoverableError);
});

suite.test("authorize() answers error: when PostgreSQL fails or is too slow", async (fx) => {
  const s = newSigner();
  const down = connectPostgres("postgres://nobody@127.0.0.1:1/none", { max: 1 });
  try {
    const e = authEvent(s, newCid());
    const { header, result } = await run(fx, e, { sql: down });
    assert.deepEqual(header, {
      op: "auth",
      eventId: e.id,
      pubkey: s.pubkey,
      ok: false,
      level: 0,
      reason: AUTH_REASONS.failed,
    });
    assert.ok(result instanceof UnrecoverableError);
  } finally {
    await down.end({ timeout: 0 });
  }
  const locker = await fx.sql.reserve();
  try {
    await locker`begin`;
    await locker`lock table trusted_authors in access exclusive mode`;
    const config = { ...fx.config, queryTimeoutMs: 150 };
    const e = authEvent(s, newCid());
    const { header, result } = await run(fx, e, { config });
    assert.equal(header.op === "auth" && header.reason, AUTH_REASONS.failed);
    assert.ok(result instanceof UnrecoverableError);
  } finally {
    await locker`rollback`;
    locker.release();
  }
});

suite.end();
