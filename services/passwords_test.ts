import assert from "node:assert/strict";
import {
  checkPassword,
  constantTimeEqual,
  hashPassword,
  passwordProblem,
  PBKDF2_ITERATIONS,
} from "./passwords.ts";

Deno.test("hashPassword() stores pbkdf2_sha256$600000$salt$hash with a random salt", async () => {
  const a = await hashPassword("correct horse battery");
  const b = await hashPassword("correct horse battery");
  const parts = a.split("$");
  assert.equal(parts.length, 4);
  assert.equal(parts[0], "pbkdf2_sha256");
  assert.equal(Number(parts[1]), PBKDF2_ITERATIONS);
  assert.ok(PBKDF2_ITERATIONS >= 600_000);
  assert.equal(atob(parts[2]!).length, 16);
  assert.equal(atob(parts[3]!).length, 32);
  assert.notEqual(a, b, "salts differ");
});

Deno.test("checkPassword() accepts the password, refuses others and unreadable hashes", async () => {
  const stored = await hashPassword("s3cret-passw0rd");
  assert.deepEqual(await checkPassword("s3cret-passw0rd", stored), { ok: true, rehash: false });
  assert.deepEqual(await checkPassword("s3cret-passw0rd ", stored), { ok: false, rehash: false });
  assert.deepEqual(await checkPassword("x", "x"), { ok: false, rehash: false });
  assert.deepEqual(await checkPassword("x", ""), { ok: false, rehash: false });
  assert.deepEqual(await checkPassword("x", "pbkdf2_sha256$0$AA==$AA=="), {
    ok: false,
    rehash: false,
  });
});

Deno.test("checkPassword() asks for a rehash of a weaker hash", async () => {
  const weak = await hashPassword("old-password", 1000);
  assert.deepEqual(await checkPassword("old-password", weak), { ok: true, rehash: true });
});

Deno.test("constantTimeEqual() compares bytes", () => {
  assert.equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  assert.equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  assert.equal(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 3])), false);
});

Deno.test("passwordProblem() requires 8..1024 characters", () => {
  assert.match(passwordProblem("short")!, /at least 8/);
  assert.match(passwordProblem("x".repeat(1025))!, /at most 1024/);
  assert.equal(passwordProblem("long enough"), undefined);
  assert.equal(passwordProblem(42), "expected a string");
});
