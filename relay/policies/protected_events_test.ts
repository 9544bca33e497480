import assert from "node:assert/strict";
import type { ClientMessage } from "../messages.ts";
import { protectedEvents } from "./protected_events.ts";

const AUTHOR = "a".repeat(64);
const policy = protectedEvents();

function event(tags: string[][]): ClientMessage {
  return {
    type: "EVENT",
    event: {
      id: "e".repeat(64),
      pubkey: AUTHOR,
      created_at: 1,
      kind: 1,
      tags,
      content: "",
      sig: "",
    },
  };
}

Deno.test("protectedEvents() accepts a protected event from its authenticated author", () => {
  assert.deepEqual(policy(event([["-"]]), { authed: ["b".repeat(64), AUTHOR], level: 1 }), {
    ok: true,
  });
});

Deno.test("protectedEvents() refuses it from anyone else", () => {
  for (const authed of [[], ["b".repeat(64)]]) {
    assert.deepEqual(policy(event([["-"]]), { authed, level: 1 }), {
      ok: false,
      reason: "auth-required: this event may only be published by its author",
    });
  }
});

Deno.test("protectedEvents() ignores unprotected events and other commands", () => {
  assert.deepEqual(policy(event([["-", "x"], ["t", "-"]]), { authed: [], level: 0 }), { ok: true });
  assert.deepEqual(policy({ type: "REQ", sid: "s", filters: [{}] }, { authed: [], level: 0 }), {
    ok: true,
  });
});
