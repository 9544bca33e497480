import assert from "node:assert/strict";
import { decodeReply, LEVELS } from "../lib/contract.ts";
import { RECOMPUTE_BATCH, recomputeLevels } from "./recompute_levels.ts";
import { accounts, newCid, newSigner, type WorkerFixture, workerSuite } from "./_test_helpers.ts";

const suite = workerSuite();

/** The next reply on `cid`'s channel, which must be a `level` reply and the last one. */
async function levelReply(fx: WorkerFixture, cid: string) {
  const channel = fx.keys.connectionChannel(cid);
  const { header, lines } = decodeReply(await fx.replies.next(channel));
  assert.deepEqual(lines, []);
  await fx.replies.expectNothingMore(fx.redis, channel);
  return header;
}

suite.test("recomputeLevels() publishes the level to every connection of each pubkey, and nowhere else", async (fx) => {
  const a = accounts(fx.sql);
  const [trusted, stranger, absent] = [newSigner(), newSigner(), newSigner()];
  await a.trust(trusted.pubkey);
  const [t1, t2, s1, other] = [newCid(), newCid(), newCid(), newCid()];
  await fx.redis.sadd(fx.keys.pubkeyConnections(trusted.pubkey), t1, t2);
  await fx.redis.sadd(fx.keys.pubkeyConnections(stranger.pubkey), s1);
  await fx.redis.sadd(fx.keys.connections, t1, t2, s1, other);
  const job = {
    data: {
      pubkeys: [trusted.pubkey, stranger.pubkey, trusted.pubkey.toUpperCase(), absent.pubkey],
    },
  };
  assert.deepEqual(await recomputeLevels(job, fx.deps), { pubkeys: 3, published: 3 });
  for (const cid of [t1, t2]) {
    assert.deepEqual(await levelReply(fx, cid), {
      op: "level",
      pubkey: trusted.pubkey,
      level: LEVELS.trusted,
    });
  }
  assert.deepEqual(await levelReply(fx, s1), {
    op: "level",
    pubkey: stranger.pubkey,
    level: LEVELS.authenticated,
  });
  await fx.replies.expectNothingMore(fx.redis, fx.keys.connectionChannel(other));
});

suite.test("recomputeLevels() follows a change: a revoked trust falls back to the next rule", async (fx) => {
  const a = accounts(fx.sql);
  const s = newSigner();
  await a.trust(s.pubkey);
  await a.link(await a.user(true), s.pubkey);
  const cid = newCid();
  await fx.redis.sadd(fx.keys.pubkeyConnections(s.pubkey), cid);
  await recomputeLevels({ data: { pubkeys: [s.pubkey] } }, fx.deps);
  assert.deepEqual(await levelReply(fx, cid), { op: "level", pubkey: s.pubkey, level: 4 });
  await a.distrust(s.pubkey);
  await recomputeLevels({ data: { pubkeys: [s.pubkey] } }, fx.deps);
  assert.deepEqual(await levelReply(fx, cid), { op: "level", pubkey: s.pubkey, level: 2 });
});

suite.test("recomputeLevels() works through more pubkeys than one batch and skips invalid ones", async (fx) => {
  const pubkeys = Array.from({ length: RECOMPUTE_BATCH + 20 }, () => newSigner().pubkey);
  const last = pubkeys.at(-1)!;
  await accounts(fx.sql).subscribe(last, 3600);
  const cid = newCid();
  await fx.redis.sadd(fx.keys.pubkeyConnections(last), cid);
  const job = { data: { pubkeys: [...pubkeys, "nope", 42] as string[] } };
  assert.deepEqual(await recomputeLevels(job, fx.deps), {
    pubkeys: pubkeys.length,
    published: 1,
  });
  assert.deepEqual(await levelReply(fx, cid), { op: "level", pubkey: last, level: 3 });
  const empty = { data: { pubkeys: "not a list" as unknown as string[] } };
  assert.deepEqual(await recomputeLevels(empty, fx.deps), { pubkeys: 0, published: 0 });
});

suite.end();
