import assert from "node:assert/strict";
import { codePointLength, utf8Length } from "./text.ts";

const samples = ["", "ascii", "é", "€uro", "😀", "a😀b", "\ud800", "x\udc00y", "日本語", "\u0000"];

Deno.test("utf8Length() equals the TextEncoder byte length", () => {
  const enc = new TextEncoder();
  for (const s of samples) assert.equal(utf8Length(s), enc.encode(s).length, JSON.stringify(s));
});

Deno.test("codePointLength() counts surrogate pairs once", () => {
  for (const s of samples) assert.equal(codePointLength(s), [...s].length, JSON.stringify(s));
});
