import assert from "node:assert/strict";
import { relayAddress, sameRelay } from "./relay_url.ts";

Deno.test("relayAddress() keeps host, port and path, drops scheme and trailing slash", () => {
  assert.equal(relayAddress("wss://Relay.Example.com/"), "relay.example.com");
  assert.equal(relayAddress("ws://relay.example.com:8080/nostr/"), "relay.example.com:8080/nostr");
  assert.equal(relayAddress("relay.example.com"), "relay.example.com");
  assert.equal(relayAddress("wss://relay.example.com:443"), "relay.example.com");
  assert.equal(relayAddress(""), undefined);
  assert.equal(relayAddress("wss://"), undefined);
  assert.equal(relayAddress("not a url at all"), undefined);
});

Deno.test("sameRelay() ignores the scheme and a trailing slash", () => {
  const url = "wss://relay.example.com";
  assert.ok(sameRelay("wss://relay.example.com/", url));
  assert.ok(sameRelay("ws://relay.example.com", url));
  assert.ok(sameRelay("https://RELAY.example.com", url));
  assert.ok(sameRelay("ws://localhost:3000/", "ws://localhost:3000"));
});

Deno.test("sameRelay() refuses another host, port or path", () => {
  const url = "wss://relay.example.com";
  assert.equal(sameRelay("wss://other.example.com", url), false);
  assert.equal(sameRelay("wss://relay.example.com.evil.com", url), false);
  assert.equal(sameRelay("wss://relay.example.com:4443", url), false);
  assert.equal(sameRelay("wss://relay.example.com/other", url), false);
  assert.equal(sameRelay("", url), false);
});
