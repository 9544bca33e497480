import assert from "node:assert/strict";
import { computeId, type NostrEvent } from "../lib/nostr/event.ts";
import { type MessageLimits, parseMessage } from "./messages.ts";

const limits: MessageLimits = {
  maxMessageLength: 1000,
  maxEventTags: 3,
  maxContentLength: 10,
  maxFilters: 2,
  maxLimit: 100,
};

function buildEvent(overrides: Partial<NostrEvent> = {}): NostrEvent {
  const base = {
    pubkey: "a".repeat(64),
    created_at: 1700000000,
    kind: 1,
    tags: [["t", "x"]],
    content: "hello",
    ...overrides,
  };
  return { id: computeId(base), sig: "b".repeat(128), ...base, ...overrides };
}

function reply(data: string | ArrayBuffer, l: MessageLimits = limits): unknown {
  const r = parseMessage(data, l);
  assert.equal(r.ok, false, "expected a refusal");
  return JSON.parse((r as { reply: string }).reply);
}

function accepted(data: string) {
  const r = parseMessage(data, limits);
  if (!r.ok) throw new Error(`expected acceptance, got ${r.reply}`);
  return r.message;
}

Deno.test("parseMessage() refuses binary frames", () => {
  assert.deepEqual(reply(new Uint8Array([1, 2]).buffer), [
    "NOTICE",
    "invalid: binary messages are not supported",
  ]);
});

Deno.test("parseMessage() measures UTF-8 bytes before parsing", () => {
  const r = parseMessage('["CLOSE","é"]', limits);
  assert.equal(r.bytes, 14);
  assert.deepEqual(reply("x".repeat(1001)), [
    "NOTICE",
    "invalid: message is 1001 bytes, the maximum is 1000",
  ]);
  assert.deepEqual(reply("é".repeat(501)), [
    "NOTICE",
    "invalid: message is 1002 bytes, the maximum is 1000",
  ]);
});

Deno.test("parseMessage() refuses non-JSON, non-arrays and unknown commands", () => {
  assert.deepEqual(reply("[oops"), ["NOTICE", "invalid: message is not valid JSON"]);
  const shape = ["NOTICE", "invalid: message must be a JSON array starting with a command"];
  assert.deepEqual(reply('{"a":1}'), shape);
  assert.deepEqual(reply("[]"), shape);
  assert.deepEqual(reply("[1]"), shape);
  assert.deepEqual(reply(`["${"X".repeat(30)}"]`), [
    "NOTICE",
    `invalid: unknown command "${"X".repeat(20)}"`,
  ]);
  assert.deepEqual(reply('["ev\\"il"]'), ["NOTICE", 'invalid: unknown command "ev"il"']);
});

Deno.test("parseMessage() accepts a well-formed EVENT", () => {
  const e = buildEvent();
  assert.deepEqual(accepted(JSON.stringify(["EVENT", e])), { type: "EVENT", event: e });
});

Deno.test("parseMessage() answers a bad EVENT with OK false when it has an id", () => {
  const cases: [Partial<NostrEvent> | Record<string, unknown>, string][] = [
    [{ pubkey: "A".repeat(64) }, "invalid: pubkey must be 64 lowercase hex characters"],
    [{ sig: "b".repeat(127) }, "invalid: sig must be 128 lowercase hex characters"],
    [{ kind: 65536 }, "invalid: kind must be an integer from 0 to 65535"],
    [{ kind: 1.5 }, "invalid: kind must be an integer from 0 to 65535"],
    [{ kind: "1" }, "invalid: kind must be a number"],
    [{ created_at: -1 }, "invalid: created_at must be a non-negative safe integer (unix seconds)"],
    [
      { created_at: 2 ** 53 },
      "invalid: created_at must be a non-negative safe integer (unix seconds)",
    ],
    [{ tags: {} }, "invalid: tags must be an array"],
    [{ tags: [[]] }, "invalid: tags[0] must be a non-empty array of strings"],
    [{ tags: [["e", 1]] }, "invalid: tags[0][1] must be a string"],
    [{ tags: [["a"], ["b"], ["c"], ["d"]] }, "invalid: tags has 4 entries, the maximum is 3"],
    [{ content: 5 }, "invalid: content must be a string"],
    [{ content: "x".repeat(11) }, "invalid: content is 11 characters, the maximum is 10"],
    [{ content: undefined }, "invalid: content is missing"],
  ];
  for (const [overrides, text] of cases) {
    const e = { ...buildEvent(), ...overrides, id: "c".repeat(64) };
    assert.deepEqual(reply(JSON.stringify(["EVENT", e])), ["OK", "c".repeat(64), false, text]);
  }
});

Deno.test("parseMessage() counts content in code points, not UTF-16 units", () => {
  const e = buildEvent({ content: "😀".repeat(10) });
  assert.equal(accepted(JSON.stringify(["EVENT", e])).type, "EVENT");
});

Deno.test("parseMessage() answers a bad EVENT without an id with NOTICE", () => {
  assert.deepEqual(reply('["EVENT"]'), ["NOTICE", 'invalid: EVENT must be ["EVENT", <event>]']);
  assert.deepEqual(reply('["EVENT",[]]'), ["NOTICE", "invalid: event must be a JSON object"]);
  const e = { ...buildEvent(), id: "short" };
  assert.deepEqual(reply(JSON.stringify(["EVENT", e])), [
    "NOTICE",
    "invalid: id must be 64 lowercase hex characters",
  ]);
  const two = buildEvent();
  assert.deepEqual(reply(JSON.stringify(["EVENT", two, {}])), [
    "OK",
    two.id,
    false,
    'invalid: EVENT must be ["EVENT", <event>]',
  ]);
});

Deno.test("parseMessage() refuses an event whose id is not its hash", () => {
  const e = { ...buildEvent(), content: "changed" };
  assert.deepEqual(reply(JSON.stringify(["EVENT", e])), [
    "OK",
    e.id,
    false,
    "invalid: event id does not match its content",
  ]);
});

for (const cmd of ["REQ", "COUNT"]) {
  Deno.test(`parseMessage() accepts ${cmd} and clamps limits to maxLimit`, () => {
    assert.deepEqual(accepted(`["${cmd}","s",{"kinds":[1],"limit":5000},{"limit":0}]`), {
      type: cmd,
      sid: "s",
      filters: [{ kinds: [1], limit: 100 }, { limit: 0 }],
    });
  });

  Deno.test(`parseMessage() refuses ${cmd} with a bad subscription id`, () => {
    assert.deepEqual(reply(`["${cmd}",5,{}]`), [
      "NOTICE",
      `invalid: ${cmd} subscription id must be a string`,
    ]);
    assert.deepEqual(reply(`["${cmd}"]`), [
      "NOTICE",
      `invalid: ${cmd} subscription id must be a string`,
    ]);
    const why = "invalid: subscription id must be 1 to 64 characters";
    assert.deepEqual(reply(`["${cmd}","",{}]`), ["CLOSED", "", why]);
    const long = "x".repeat(65);
    assert.deepEqual(reply(`["${cmd}","${long}",{}]`), ["CLOSED", long, why]);
    const emoji = "😀".repeat(64);
    assert.equal(accepted(`["${cmd}","${emoji}",{}]`).type, cmd);
  });

  Deno.test(`parseMessage() refuses ${cmd} without filters or with too many`, () => {
    assert.deepEqual(reply(`["${cmd}","s"]`), [
      "CLOSED",
      "s",
      `invalid: ${cmd} needs at least one filter`,
    ]);
    assert.deepEqual(reply(`["${cmd}","s",{},{},{}]`), [
      "CLOSED",
      "s",
      "invalid: too many filters, the maximum is 2",
    ]);
  });

  Deno.test(`parseMessage() names the filter and field of a bad ${cmd} filter`, () => {
    const cases: [string, string][] = [
      ['{}, {"ids":["ab"]}', "invalid: filter 2 ids[0]: must be 64 lowercase hex characters"],
      ['{"kinds":[70000]}', "invalid: filter 1 kinds[0]: Too big: expected number to be <=65535"],
      ['{"since":5,"until":1}', "invalid: filter 1 since: since must not be after until"],
      ['{"#ab":["x"]}', "invalid: filter 1 #ab: tag filters must be # and one letter"],
      ['{"#e":[1]}', "invalid: filter 1 #e: must be a list of strings"],
      ['{"limit":-1}', "invalid: filter 1 limit: Too small: expected number to be >=0"],
      ["[]", "invalid: filter 1 must be a JSON object"],
      ["null", "invalid: filter 1 must be a JSON object"],
    ];
    for (const [filters, text] of cases) {
      assert.deepEqual(reply(`["${cmd}","s",${filters}]`), ["CLOSED", "s", text]);
    }
  });
}

Deno.test("parseMessage() accepts CLOSE with a string id only", () => {
  assert.deepEqual(accepted('["CLOSE","s"]'), { type: "CLOSE", sid: "s" });
  const shape = ["NOTICE", 'invalid: CLOSE must be ["CLOSE", <subscription id string>]'];
  assert.deepEqual(reply('["CLOSE"]'), shape);
  assert.deepEqual(reply('["CLOSE",1]'), shape);
  assert.deepEqual(reply('["CLOSE","s","t"]'), shape);
});

Deno.test("parseMessage() accepts AUTH with an object only", () => {
  assert.deepEqual(accepted('["AUTH",{"id":"x"}]'), { type: "AUTH", event: { id: "x" } });
  const shape = ["OK", "", false, 'invalid: AUTH must be ["AUTH", <signed event object>]'];
  assert.deepEqual(reply('["AUTH","challenge"]'), shape);
  assert.deepEqual(reply('["AUTH"]'), shape);
  const id = "a".repeat(64);
  assert.deepEqual(reply(`["AUTH",{"id":"${id}"},"extra"]`), [
    "OK",
    id,
    false,
    'invalid: AUTH must be ["AUTH", <signed event object>]',
  ]);
});
