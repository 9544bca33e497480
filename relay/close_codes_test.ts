import assert from "node:assert/strict";
import { sendableCode, sendableReason } from "./close_codes.ts";
import { utf8Length } from "./text.ts";

Deno.test("sendableCode() keeps valid codes and maps the rest to 1011", () => {
  for (const code of [1000, 1001, 1008, 1011, 3000, 3403, 4999]) {
    assert.equal(sendableCode(code), code);
  }
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 2000, 5000, 1000.5]) {
    assert.equal(sendableCode(code), 1011);
  }
});

Deno.test("sendableReason() cuts reasons to 123 UTF-8 bytes on a code point boundary", () => {
  assert.equal(sendableReason("short"), "short");
  const cut = sendableReason("é".repeat(100));
  assert.equal(utf8Length(cut), 122);
  assert.equal(cut, "é".repeat(61));
  assert.equal(sendableReason("x".repeat(200)).length, 123);
});
