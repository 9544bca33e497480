import assert from "node:assert/strict";
import { deletionTargets } from "./deletion.ts";
import { newSigner, nowSeconds, storedIds, workerSuite } from "./_test_helpers.ts";

const suite = workerSuite();
const DELETED = "blocked: this event was deleted by its author";
const ADDRESS = "blocked: a deletion request covers this address";

async function isStored(sql: Parameters<typeof storedIds>[0], id: string): Promise<boolean> {
  return (await storedIds(sql)).includes(id);
}

Deno.test("deletionTargets() keeps valid e tags and the author's own a tags", () => {
  const s = newSigner();
  const other = newSigner();
  const id = "a".repeat(64);
  const e = s.sign({
    kind: 5,
    tags: [
      ["e", id],
      ["e", id],
      ["e", "not-hex"],
      ["a", `30023:${s.pubkey}:with:colons`],
      ["a", `10000:${s.pubkey}:`],
      ["a", `30023:${other.pubkey}:x`],
      ["a", `1:${s.pubkey}:`],
      ["a", "garbage"],
      ["k", "1059"],
    ],
  });
  assert.deepEqual(deletionTargets(e), {
    ids: [id],
    addresses: [{ kind: 30023, d: "with:colons" }, { kind: 10000, d: "" }],
    giftWraps: true,
  });
});

suite.test("newEvent() deletes the author's own events named by e tags and tombstones them", async (fx) => {
  const s = newSigner();
  const note = s.sign();
  const kept = s.sign();
  assert.deepEqual(await fx.publish(note), [true, ""]);
  assert.deepEqual(await fx.publish(kept), [true, ""]);
  const deletion = s.sign({ kind: 5, tags: [["e", note.id], ["k", "1"]] });
  assert.deepEqual(await fx.publish(deletion), [true, ""]);
  assert.equal(await isStored(fx.sql, note.id), false);
  assert.equal(await isStored(fx.sql, kept.id), true);
  assert.equal(await isStored(fx.sql, deletion.id), true, "the deletion request is stored");
  assert.deepEqual(await fx.publish(note), [false, DELETED]);
  assert.equal(await isStored(fx.sql, note.id), false);
});

suite.test("newEvent() ignores e-tag deletions of other authors' events", async (fx) => {
  const victim = newSigner().sign();
  assert.deepEqual(await fx.publish(victim), [true, ""]);
  const deletion = newSigner().sign({ kind: 5, tags: [["e", victim.id]] });
  assert.deepEqual(await fx.publish(deletion), [true, ""]);
  assert.equal(await isStored(fx.sql, victim.id), true);
});

suite.test("newEvent() never deletes a deletion request", async (fx) => {
  const s = newSigner();
  const note = s.sign();
  const first = s.sign({ kind: 5, tags: [["e", note.id]] });
  assert.deepEqual(await fx.publish(first), [true, ""]);
  const second = s.sign({ kind: 5, tags: [["e", first.id]] });
  assert.deepEqual(await fx.publish(second), [true, ""]);
  assert.equal(await isStored(fx.sql, first.id), true);
  assert.deepEqual(await fx.publish(first), [false, "duplicate: already have this event"]);
});

suite.test("newEvent() refuses an event whose deletion arrived before it", async (fx) => {
  const s = newSigner();
  const note = s.sign();
  assert.deepEqual(await fx.publish(s.sign({ kind: 5, tags: [["e", note.id]] })), [true, ""]);
  assert.deepEqual(await fx.publish(note), [false, DELETED]);
});

suite.test("newEvent() never keeps an event deleted concurrently with its storing", async (fx) => {
  const pairs = Array.from({ length: 15 }, () => {
    const s = newSigner();
    const note = s.sign();
    return [note, s.sign({ kind: 5, tags: [["e", note.id]] })] as const;
  });
  const replies = await Promise.all(
    pairs.flatMap(([note, del]) => [fx.publish(note), fx.publish(del)]),
  );
  for (const [note] of pairs) assert.equal(await isStored(fx.sql, note.id), false);
  for (const [ok, message] of replies) assert.ok(ok || message === DELETED, message);
});

/** Resolves once `n` sessions of this database wait on a lock (or `done` settles first). */
async function lockWaiters(
  fx: { sql: Parameters<typeof storedIds>[0] },
  n: number,
  done?: Promise<unknown>,
) {
  let settled = false;
  done?.finally(() => settled = true);
  for (let i = 0; i < 500 && !settled; i++) {
    const [row] = await fx.sql`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`;
    if ((row?.n ?? 0) >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!settled) throw new Error(`Cannot see ${n} lock waiters`);
}

suite.test("newEvent() keeps no event whose deletion commits while it is being stored", async (fx) => {
  // Forces the dangerous interleaving: the event's insert has taken its snapshot and waits (on
  // an uncommitted row with the same id) while the deletion runs. The author lock makes the
  // deletion wait for the event's commit, so it sees and deletes it.
  const s = newSigner();
  const note = s.sign();
  const deletion = s.sign({ kind: 5, tags: [["e", note.id]] });
  assert.deepEqual(await fx.publish(s.sign()), [true, ""]);
  const blocker = await fx.sql.reserve();
  try {
    await blocker`begin`;
    await blocker`insert into events (event_id, author_id, kind, created_at, raw)
      select decode(${note.id}, 'hex'), id, 1, 0, '{}' from authors
      where pubkey = decode(${s.pubkey}, 'hex')`;
    const storing = fx.publish(note);
    await lockWaiters(fx, 1);
    const deleting = fx.publish(deletion);
    await lockWaiters(fx, 2, deleting);
    await blocker`rollback`;
    assert.deepEqual(await storing, [true, ""]);
    assert.deepEqual(await deleting, [true, ""]);
  } finally {
    blocker.release();
  }
  assert.equal(await isStored(fx.sql, note.id), false);
  assert.deepEqual(await fx.publish(note), [false, DELETED]);
});

suite.test("newEvent() applies a-tag deletions up to the deletion's created_at", async (fx) => {
  const s = newSigner();
  const t = nowSeconds() - 100;
  const x1 = s.sign({ kind: 30023, tags: [["d", "x"]], created_at: t });
  const y1 = s.sign({ kind: 30023, tags: [["d", "y"]], created_at: t });
  for (const e of [x1, y1]) assert.deepEqual(await fx.publish(e), [true, ""]);
  const deletion = s.sign({ kind: 5, created_at: t + 10, tags: [["a", `30023:${s.pubkey}:x`]] });
  assert.deepEqual(await fx.publish(deletion), [true, ""]);
  assert.equal(await isStored(fx.sql, x1.id), false);
  assert.equal(await isStored(fx.sql, y1.id), true, "another d tag is untouched");
  const stillOld = s.sign({ kind: 30023, tags: [["d", "x"]], created_at: t + 10 });
  assert.deepEqual(await fx.publish(stillOld), [false, ADDRESS]);
  const newer = s.sign({ kind: 30023, tags: [["d", "x"]], created_at: t + 11 });
  assert.deepEqual(await fx.publish(newer), [true, ""]);
  const [row] = await fx.sql`select until from delete_addresses where d_tag = 'x'`;
  assert.equal(row?.until, t + 10);
  const earlier = s.sign({ kind: 5, created_at: t + 5, tags: [["a", `30023:${s.pubkey}:x`]] });
  assert.deepEqual(await fx.publish(earlier), [true, ""]);
  assert.equal(await isStored(fx.sql, newer.id), true);
  const [after] = await fx.sql`select until from delete_addresses where d_tag = 'x'`;
  assert.equal(after?.until, t + 10, "until never moves back");
});

suite.test("newEvent() applies a-tag deletions to replaceable kinds and keeps newer versions", async (fx) => {
  const s = newSigner();
  const t = nowSeconds() - 100;
  const mute = s.sign({ kind: 10000, created_at: t });
  assert.deepEqual(await fx.publish(mute), [true, ""]);
  const del = s.sign({ kind: 5, created_at: t + 1, tags: [["a", `10000:${s.pubkey}:`]] });
  assert.deepEqual(await fx.publish(del), [true, ""]);
  assert.equal(await isStored(fx.sql, mute.id), false);
  const profile = s.sign({ kind: 0, created_at: t + 50 });
  assert.deepEqual(await fx.publish(profile), [true, ""]);
  const staleDel = s.sign({ kind: 5, created_at: t + 20, tags: [["a", `0:${s.pubkey}:`]] });
  assert.deepEqual(await fx.publish(staleDel), [true, ""]);
  assert.equal(await isStored(fx.sql, profile.id), true, "a newer version survives");
  const other = newSigner();
  const theirs = other.sign({ kind: 10000, created_at: t });
  assert.deepEqual(await fx.publish(theirs), [true, ""]);
  const foreign = s.sign({ kind: 5, created_at: t + 60, tags: [["a", `10000:${other.pubkey}:`]] });
  assert.deepEqual(await fx.publish(foreign), [true, ""]);
  assert.equal(await isStored(fx.sql, theirs.id), true, "another author's address is ignored");
});

suite.test("newEvent() lets a gift-wrap recipient delete the wrap addressed to them", async (fx) => {
  const recipient = newSigner();
  const wrap = newSigner().sign({ kind: 1059, tags: [["p", recipient.pubkey]] });
  const otherWrap = newSigner().sign({ kind: 1059, tags: [["p", newSigner().pubkey]] });
  for (const e of [wrap, otherWrap]) assert.deepEqual(await fx.publish(e), [true, ""]);
  const del = recipient.sign({
    kind: 5,
    tags: [["e", wrap.id], ["e", otherWrap.id], ["k", "1059"]],
  });
  assert.deepEqual(await fx.publish(del), [true, ""]);
  assert.equal(await isStored(fx.sql, wrap.id), false);
  assert.equal(await isStored(fx.sql, otherWrap.id), true, "only wraps p-tagged to the deleter");
  assert.deepEqual(await fx.publish(wrap), [false, DELETED]);
});

suite.end();
