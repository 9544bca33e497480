import assert from "node:assert/strict";
import { filterSchema, matchFilter } from "./filter.ts";
import type { NostrEvent } from "./event.ts";

const event: NostrEvent = {
  id: "1".repeat(64),
  pubkey: "2".repeat(64),
  created_at: 1000,
  kind: 1,
  tags: [["e", "3".repeat(64)], ["t", "Nostr"], ["p", "4".repeat(64), "wss://r"]],
  content: "",
  sig: "5".repeat(128),
};

Deno.test("matchFilter() matches an empty filter", () => {
  assert.equal(matchFilter({}, event), true);
});

Deno.test("matchFilter() ANDs fields and ORs values within a field", () => {
  assert.equal(matchFilter({ kinds: [0, 1], authors: [event.pubkey] }, event), true);
  assert.equal(matchFilter({ kinds: [1], authors: ["9".repeat(64)] }, event), false);
});

Deno.test("matchFilter() treats since and until as inclusive", () => {
  assert.equal(matchFilter({ since: 1000, until: 1000 }, event), true);
  assert.equal(matchFilter({ since: 1001 }, event), false);
  assert.equal(matchFilter({ until: 999 }, event), false);
});

Deno.test("matchFilter() ANDs two tag conditions and matches values case-sensitively", () => {
  assert.equal(matchFilter({ "#e": ["3".repeat(64)], "#t": ["Nostr"] }, event), true);
  assert.equal(matchFilter({ "#e": ["3".repeat(64)], "#t": ["nostr"] }, event), false);
  assert.equal(matchFilter({ "#p": ["4".repeat(64)] }, event), true);
});

Deno.test("matchFilter() matches nothing with an empty list", () => {
  assert.equal(matchFilter({ ids: [] }, event), false);
  assert.equal(matchFilter({ "#t": [] }, event), false);
});

Deno.test("filterSchema accepts a full filter and keeps tag conditions", () => {
  const f = filterSchema.parse({
    ids: ["a".repeat(64)],
    kinds: [1],
    "#t": ["x"],
    limit: 5,
    unknown: 1,
  });
  assert.deepEqual(f, { ids: ["a".repeat(64)], kinds: [1], "#t": ["x"], limit: 5 });
});

Deno.test("filterSchema rejects bad values", () => {
  for (
    const bad of [
      { ids: ["abc"] },
      { authors: ["A".repeat(64)] },
      { kinds: [70000] },
      { since: -1 },
      { since: 5, until: 4 },
      { limit: 1.5 },
      { "#tt": ["x"] },
      { "#e": "x" },
      { "#e": [1] },
    ]
  ) {
    assert.equal(filterSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});
