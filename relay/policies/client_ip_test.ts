import assert from "node:assert/strict";
import { clientIp } from "./client_ip.ts";

function headers(init: Record<string, string>): Headers {
  return new Headers(init);
}

Deno.test("clientIp() is the socket address when no proxy header is trusted", () => {
  const h = headers({ "x-forwarded-for": "203.0.113.9" });
  assert.equal(clientIp(h, "10.0.0.1", ""), "10.0.0.1");
});

Deno.test("clientIp() takes the last x-forwarded-for entry, the one our proxy appended", () => {
  const h = headers({ "x-forwarded-for": "1.2.3.4, 198.51.100.7,203.0.113.9" });
  assert.equal(clientIp(h, "10.0.0.1", "x-forwarded-for"), "203.0.113.9");
  const v6 = headers({ "x-real-ip": "2001:db8::1" });
  assert.equal(clientIp(v6, "10.0.0.1", "x-real-ip"), "2001:db8::1");
});

Deno.test("clientIp() falls back to the socket address on a missing or malformed header", () => {
  assert.equal(clientIp(headers({}), "10.0.0.1", "x-forwarded-for"), "10.0.0.1");
  const bad = headers({ "x-forwarded-for": "1.2.3.4, not-an-ip" });
  assert.equal(clientIp(bad, "10.0.0.1", "x-forwarded-for"), "10.0.0.1");
  const empty = headers({ "x-forwarded-for": "1.2.3.4, " });
  assert.equal(clientIp(empty, "10.0.0.1", "x-forwarded-for"), "10.0.0.1");
});
