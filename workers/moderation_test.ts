import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";
import type { NostrEvent } from "../lib/nostr/event.ts";
import {
  allowKind,
  allowPubkey,
  banEvent,
  banPubkey,
  clearKind,
  disallowKind,
  unallowPubkey,
  unbanPubkey,
} from "../services/moderation.ts";
import { openQueues } from "../services/deps.ts";
import { MODERATION_REASONS, moderationVerdict, startModerationGate } from "./moderation.ts";
import { newSigner, storedIds, workerSuite } from "./_test_helpers.ts";

const suite = workerSuite();
const EMPTY = {
  bannedEvents: new Set<string>(),
  bannedPubkeys: new Set<string>(),
  allowedPubkeys: new Set<string>(),
  allowedKinds: new Set<number>(),
  disallowedKinds: new Set<number>(),
};
const E = { id: "a".repeat(64), pubkey: "b".repeat(64), kind: 1 };

Deno.test("moderationVerdict() refuses banned events, banned pubkeys, pubkeys off the allow list and kinds", () => {
  assert.equal(moderationVerdict(E, EMPTY), null);
  assert.equal(
    moderationVerdict(E, { ...EMPTY, bannedEvents: new Set([E.id]) }),
    "blocked: this event is banned",
  );
  assert.equal(
    moderationVerdict(E, { ...EMPTY, bannedPubkeys: new Set([E.pubkey]) }),
    "blocked: this pubkey is banned",
  );
  assert.equal(
    moderationVerdict(E, { ...EMPTY, allowedPubkeys: new Set(["c".repeat(64)]) }),
    MODERATION_REASONS.notAllowedPubkey,
  );
  assert.equal(moderationVerdict(E, { ...EMPTY, allowedPubkeys: new Set([E.pubkey]) }), null);
  assert.equal(
    moderationVerdict(E, { ...EMPTY, disallowedKinds: new Set([1]) }),
    "blocked: kind 1 is not allowed on this relay",
  );
  assert.equal(
    moderationVerdict(E, { ...EMPTY, allowedKinds: new Set([7]) }),
    "blocked: kind 1 is not allowed on this relay",
  );
  assert.equal(moderationVerdict(E, { ...EMPTY, allowedKinds: new Set([1, 7]) }), null);
});

suite.test("the gate applies every service change to NewEvent", async (fx) => {
  const gate = await startModerationGate({ ...fx.deps, log: createLogger("t", "error") });
  const queues = openQueues(fx.redis, fx.keys);
  const services = { ...fx.deps, queues };
  /** Waits until the gate's verdict on `e` is `expected` (the announcement is asynchronous). */
  async function settled(e: NostrEvent, expected: string | null) {
    for (let i = 0; i < 400 && (await gate.check(e)) !== expected; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    return e;
  }
  try {
    const deps = { deps: { moderation: gate } };
    const alice = newSigner();
    assert.deepEqual(await fx.publish(alice.sign(), deps), [true, ""]);
    await banPubkey(services, alice.pubkey);
    const banned = await settled(alice.sign(), "blocked: this pubkey is banned");
    assert.deepEqual(await fx.publish(banned, deps), [false, "blocked: this pubkey is banned"]);
    await unbanPubkey(services, alice.pubkey);
    assert.deepEqual(await fx.publish(await settled(alice.sign(), null), deps), [true, ""]);

    const e = alice.sign({ content: "will be banned" });
    await banEvent(services, e.id);
    await settled(e, "blocked: this event is banned");
    assert.deepEqual(await fx.publish(e, deps), [false, "blocked: this event is banned"]);
    assert.ok(!(await storedIds(fx.sql)).includes(e.id));

    await disallowKind(services, 7);
    const reaction = await settled(alice.sign({ kind: 7 }), MODERATION_REASONS.kind(7));
    assert.deepEqual(await fx.publish(reaction, deps), [
      false,
      "blocked: kind 7 is not allowed on this relay",
    ]);
    await allowKind(services, 1);
    const article = await settled(
      alice.sign({ kind: 30023, tags: [["d", "x"]] }),
      MODERATION_REASONS.kind(30023),
    );
    assert.deepEqual(await fx.publish(article, deps), [
      false,
      "blocked: kind 30023 is not allowed on this relay",
    ]);
    assert.deepEqual(await fx.publish(alice.sign({ kind: 1 }), deps), [true, ""]);
    await clearKind(services, 1);
    await clearKind(services, 7);

    const bob = newSigner();
    await allowPubkey(services, bob.pubkey);
    const outsider = await settled(alice.sign(), MODERATION_REASONS.notAllowedPubkey);
    assert.deepEqual(await fx.publish(outsider, deps), [
      false,
      MODERATION_REASONS.notAllowedPubkey,
    ]);
    assert.deepEqual(await fx.publish(bob.sign(), deps), [true, ""]);
    await unallowPubkey(services, bob.pubkey);
    assert.deepEqual(await fx.publish(await settled(alice.sign(), null), deps), [true, ""]);
  } finally {
    await gate.close();
    await queues.close();
  }
});

suite.test("the gate notices a version change it was not told about", async (fx) => {
  const gate = await startModerationGate({ ...fx.deps, log: createLogger("t", "error") }, {
    revalidateMs: 20,
  });
  try {
    const carol = newSigner();
    assert.equal(await gate.check(carol.sign()), null);
    // a change written without its announcement (e.g. published while the gate was offline)
    await fx.sql`insert into banned_pubkeys (pubkey) values (decode(${carol.pubkey}, 'hex'))`;
    await fx.redis.incr(fx.keys.moderationVersion);
    let verdict: string | null = null;
    for (let i = 0; i < 100 && !verdict; i++) {
      await new Promise((r) => setTimeout(r, 20));
      verdict = await gate.check(carol.sign());
    }
    assert.equal(verdict, "blocked: this pubkey is banned");
  } finally {
    await gate.close();
  }
});

suite.end();
