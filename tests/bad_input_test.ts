/**
 * Every malformed message gets a precise NIP-01 answer, and the connection and the data survive.
 */
import assert from "node:assert/strict";
import { signer, TestClient } from "./_client.ts";
import { startRelay } from "./_harness.ts";

Deno.test({
  name: "bad input - precise answers, connection and data survive",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using relay = await startRelay({
      NIP_11_MAX_MESSAGE_LENGTH: "4096",
      NIP_11_MAX_FILTERS: "3",
    });
    await using c = await TestClient.connect(relay.url);
    const alice = signer();
    const kept = alice.sign({ content: "survivor" });
    assert.equal((await c.publish(kept))[2], true);

    const notices: [string, string | Uint8Array, RegExp][] = [
      ["text that is not JSON", "hello", /^invalid: message is not valid JSON$/],
      ["truncated JSON", '["REQ", "x", {', /^invalid: message is not valid JSON$/],
      [
        "a JSON object",
        '{"REQ": 1}',
        /^invalid: message must be a JSON array starting with a command$/,
      ],
      ["an empty array", "[]", /^invalid: message must be a JSON array starting with a command$/],
      ["an unknown command", '["PING"]', /^invalid: unknown command "PING"$/],
      ["a binary frame", new Uint8Array([1, 2, 3]), /^invalid: binary messages are not supported$/],
      [
        "an oversized frame",
        JSON.stringify(["EVENT", { content: "x".repeat(5000) }]),
        /^invalid: message is \d+ bytes, the maximum is 4096$/,
      ],
      ["EVENT without an object", '["EVENT"]', /^invalid: /],
      ["REQ with a numeric id", '["REQ", 5, {}]', /^invalid: /],
      ["CLOSE without an id", '["CLOSE"]', /^invalid: /],
      ["deeply nested JSON", "[".repeat(3000) + "]".repeat(3000), /^invalid: /],
    ];
    for (const [what, frame, expected] of notices) {
      await t.step(`${what} gets a NOTICE`, async () => {
        c.send(frame);
        const [, msg] = await c.notice();
        assert.match(msg, expected);
      });
    }

    await t.step("an EVENT with a wrongly typed field gets OK false invalid:", async () => {
      const e = alice.sign({ content: "x" });
      for (
        const bad of [{ ...e, kind: "1" }, { ...e, created_at: -1 }, { ...e, tags: [[1]] }, {
          ...e,
          sig: "zz",
        }]
      ) {
        c.send(["EVENT", bad]);
        const ok = await c.ok(e.id);
        assert.equal(ok[2], false);
        assert.match(ok[3], /^invalid: /);
      }
      const { id: _, ...noId } = e;
      c.send(["EVENT", noId]);
      assert.match((await c.notice())[1], /^invalid: /);
    });

    const closed: [string, unknown[], RegExp][] = [
      [
        "a 65-character id",
        ["REQ", "x".repeat(65), {}],
        /^invalid: subscription id must be 1 to 64 characters$/,
      ],
      ["an empty id", ["REQ", "", {}], /^invalid: subscription id must be 1 to 64 characters$/],
      ["no filter", ["REQ", "nf"], /^invalid: REQ needs at least one filter$/],
      [
        "too many filters",
        ["REQ", "tm", {}, {}, {}, {}],
        /^invalid: too many filters, the maximum is 3$/,
      ],
      ["a short id in ids", ["REQ", "ids", { ids: ["abc"] }], /^invalid: /],
      ["an uppercase author", ["REQ", "au", { authors: ["A".repeat(64)] }], /^invalid: /],
      ["a negative kind", ["REQ", "k", { kinds: [-1] }], /^invalid: /],
      ["since after until", ["REQ", "su", { since: 10, until: 5 }], /^invalid: /],
      ["a multi-letter tag filter", ["REQ", "mt", { "#ab": ["x"] }], /^invalid: /],
      ["a non-list tag filter", ["REQ", "tl", { "#e": "x" }], /^invalid: /],
      ["a filter that is not an object", ["REQ", "no", 5], /^invalid: /],
      ["a COUNT with a bad filter", ["COUNT", "c", { limit: -1 }], /^invalid: /],
    ];
    for (const [what, frame, expected] of closed) {
      await t.step(`REQ/COUNT with ${what} gets CLOSED`, async () => {
        c.send(frame);
        const res = await c.next((f) => f[0] === "CLOSED" && f[1] === frame[1]);
        assert.match(res[2], expected);
      });
    }

    await t.step("the connection and the stored data are intact afterwards", async () => {
      const { events } = await c.query("after", { ids: [kept.id] });
      assert.deepEqual(events, [kept]);
      const e = alice.sign({ content: "still accepted" });
      assert.deepEqual(await c.publish(e), ["OK", e.id, true, ""]);
    });
  },
});
