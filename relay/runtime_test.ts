import assert from "node:assert/strict";
import { randomHex, withTimeout } from "./runtime.ts";

Deno.test("randomHex() returns the requested number of lowercase hex characters", () => {
  for (const n of [1, 8, 24, 33]) assert.match(randomHex(n), new RegExp(`^[0-9a-f]{${n}}$`));
  assert.notEqual(randomHex(24), randomHex(24));
});

Deno.test("withTimeout() passes results through and rejects late promises", async () => {
  assert.equal(await withTimeout(Promise.resolve(5), 1000, "fast"), 5);
  await assert.rejects(
    withTimeout(new Promise(() => {}), 10, "slow thing"),
    /slow thing timed out after 10 ms/,
  );
});
