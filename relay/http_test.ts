import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { acceptsNostrJson, createHandler, type HttpDeps, withManagement } from "./http.ts";

function setup(overrides: Partial<HttpDeps> = {}) {
  const upgrades: Request[] = [];
  const handler = createHandler({
    config: loadConfig({ RELAY_URL: "wss://relay.example.com", NIP_11_RELAY_NAME: "<Test>" }),
    onWebSocket(req) {
      upgrades.push(req);
      return new Response(null, { status: 299 });
    },
    ...overrides,
  });
  return { handler, upgrades };
}

Deno.test("handler() serves NIP-11 with CORS on Accept: application/nostr+json", async () => {
  const { handler } = setup();
  const res = handler(
    new Request("http://x/any/path", { headers: { accept: "application/nostr+json" } }),
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/nostr+json");
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.equal(res.headers.get("access-control-allow-headers"), "*");
  assert.equal(res.headers.get("access-control-allow-methods"), "GET, POST, OPTIONS");
  const doc = await res.json();
  assert.equal(doc.name, "<Test>");
  assert.ok(Array.isArray(doc.supported_nips));
});

Deno.test("handler() answers CORS preflight with 204", () => {
  const res = setup().handler(new Request("http://x/", { method: "OPTIONS" }));
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("access-control-allow-methods"), "GET, POST, OPTIONS");
});

Deno.test("handler() routes websocket upgrades on any path to the relay", () => {
  const { handler, upgrades } = setup();
  const res = handler(new Request("http://x/some/where", { headers: { upgrade: "WebSocket" } }));
  assert.equal(res.status, 299);
  assert.equal(upgrades.length, 1);
});

Deno.test("handler() refuses websocket upgrades while shutting down", async () => {
  const { handler, upgrades } = setup({ isClosing: () => true });
  const res = handler(new Request("http://x/", { headers: { upgrade: "websocket" } }));
  assert.equal(res.status, 503);
  assert.equal(upgrades.length, 0);
  await res.body?.cancel();
});

Deno.test("handler() serves /healthz, a landing page and 404 for the rest", async () => {
  const { handler } = setup();
  const health = handler(new Request("http://x/healthz"));
  assert.equal(health.status, 200);
  assert.equal(await health.text(), "ok");
  const home = handler(new Request("http://x/"));
  assert.equal(home.status, 200);
  assert.match(home.headers.get("content-type")!, /^text\/html/);
  const html = await home.text();
  assert.match(html, /Nostr<\/a> relay/);
  assert.match(html, /wss:\/\/relay\.example\.com/);
  assert.match(html, /&#60;Test&#62;/);
  const missing = handler(new Request("http://x/nope"));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const post = handler(new Request("http://x/", { method: "POST" }));
  assert.equal(post.status, 404);
  await post.body?.cancel();
});

Deno.test("acceptsNostrJson() matches the media type exactly, among others", () => {
  assert.equal(acceptsNostrJson("application/nostr+json"), true);
  assert.equal(acceptsNostrJson("text/html, Application/Nostr+JSON; q=0.9"), true);
  assert.equal(acceptsNostrJson("application/nostr+json+rpc"), false);
  assert.equal(acceptsNostrJson("application/json"), false);
  assert.equal(acceptsNostrJson(null), false);
});

Deno.test("withManagement() routes NIP-86 POSTs and NIP-11 to their handlers, the rest through", async () => {
  const { handler } = setup();
  const routed = withManagement(handler, {
    nip86: () => Promise.resolve(new Response("rpc")),
    nip11: () => Promise.resolve('{"name":"override"}'),
  });
  const rpc = await routed(
    new Request("http://x/", {
      method: "POST",
      headers: { "content-type": "application/nostr+json+rpc; charset=utf-8" },
      body: "{}",
    }),
  );
  assert.equal(await rpc.text(), "rpc");
  const info = await routed(
    new Request("http://x/", { headers: { accept: "application/nostr+json" } }),
  );
  assert.equal(info.headers.get("content-type"), "application/nostr+json");
  assert.equal(info.headers.get("access-control-allow-origin"), "*");
  assert.deepEqual(await info.json(), { name: "override" });
  const plainPost = await routed(new Request("http://x/", { method: "POST", body: "{}" }));
  assert.equal(plainPost.status, 404);
  await plainPost.body?.cancel();
  const disabled = withManagement(handler, {});
  const off = await disabled(
    new Request("http://x/", {
      method: "POST",
      headers: { "content-type": "application/nostr+json+rpc" },
      body: "{}",
    }),
  );
  assert.equal(off.status, 404);
  await off.body?.cancel();
});
