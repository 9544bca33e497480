import assert from "node:assert/strict";
import { dmPrivacy, dmVisibleTo, isDirectMessageKind } from "./dm_privacy.ts";
import type { Filter } from "../../lib/nostr/filter.ts";

const ME = "a".repeat(64);
const OTHER = "b".repeat(64);
const THIRD = "c".repeat(64);
const policy = dmPrivacy();

function req(...filters: Filter[]) {
  return { type: "REQ" as const, sid: "s", filters };
}

Deno.test("dmPrivacy() asks anonymous connections to authenticate for kinds 4 and 1059", () => {
  for (const kinds of [[4], [1059], [1, 4]]) {
    assert.deepEqual(policy(req({ kinds }), { authed: [], level: 0 }), {
      ok: false,
      reason: "auth-required: direct messages are only served to their participants",
    });
  }
  const count = { type: "COUNT" as const, sid: "c", filters: [{ kinds: [4] }] };
  assert.equal(policy(count, { authed: [], level: 0 }).ok, false);
});

Deno.test("dmPrivacy() refuses someone else's DMs with restricted", () => {
  const conn = { authed: [ME], level: 1 };
  const cases: Filter[] = [
    { kinds: [4], "#p": [OTHER] },
    { kinds: [4], authors: [OTHER] },
    { kinds: [1059], authors: [OTHER], "#p": [THIRD] },
  ];
  for (const f of cases) {
    assert.deepEqual(policy(req(f), conn), {
      ok: false,
      reason: "restricted: direct messages are only served to their participants",
    });
  }
  assert.equal(policy(req({ kinds: [1] }, { kinds: [4], "#p": [OTHER] }), conn).ok, false);
});

Deno.test("dmPrivacy() lets participants ask for their DMs", () => {
  const conn = { authed: [OTHER, ME], level: 1 };
  const cases: Filter[] = [
    { kinds: [4] },
    { kinds: [4, 1059], "#p": [ME] },
    { kinds: [4], authors: [ME] },
    { kinds: [4], authors: [THIRD], "#p": [ME] },
  ];
  for (const f of cases) assert.deepEqual(policy(req(f), conn), { ok: true }, JSON.stringify(f));
});

Deno.test("dmPrivacy() ignores filters without DM kinds, CLOSE and EVENT", () => {
  const anon = { authed: [], level: 0 };
  assert.deepEqual(policy(req({ kinds: [1] }, {}, { authors: [OTHER] }), anon), { ok: true });
  assert.deepEqual(policy({ type: "CLOSE", sid: "s" }, anon), { ok: true });
});

Deno.test("dmVisibleTo() is true only for the author or a p-tagged recipient", () => {
  const dm = { pubkey: OTHER, tags: [["e", ME], ["p", THIRD], ["p", ME]] };
  assert.equal(dmVisibleTo(dm, [ME]), true, "second p tag counts");
  assert.equal(dmVisibleTo(dm, [OTHER]), true, "author");
  assert.equal(dmVisibleTo(dm, ["d".repeat(64)]), false);
  assert.equal(dmVisibleTo(dm, []), false);
  assert.equal(dmVisibleTo({ pubkey: OTHER, tags: [["e", ME]] }, [ME]), false, "e is not p");
  assert.ok(isDirectMessageKind(4) && isDirectMessageKind(1059) && !isDirectMessageKind(14));
});
