import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { getToken } from "nostr-tools/nip98";
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { createLogger } from "../lib/log.ts";
import { assignMethod, getRelayInfo, listBannedPubkeys } from "../services/moderation.ts";
import { randomHex, serviceSuite } from "../services/_testing.ts";
import { createNip86Handler, MAX_BODY_BYTES } from "./nip86.ts";
import { NIP86_CONTENT_TYPE } from "./http.ts";

const RELAY_URL = "wss://relay.example.com";
const HTTP_URL = "https://relay.example.com/";
const admin = generateSecretKey();
const adminPubkey = getPublicKey(admin);
const suite = serviceSuite({ RELAY_URL, ADMIN_PUBKEYS: adminPubkey });

interface Call {
  method: string;
  params?: unknown[];
}

/** A NIP-86 request signed by `sk` with nostr-tools' NIP-98 helper. */
async function signed(
  sk: Uint8Array,
  call: Call,
  o: { url?: string; signUrl?: string; httpMethod?: string; payload?: unknown } = {},
): Promise<Request> {
  const body = JSON.stringify({ params: [], ...call });
  const token = await getToken(
    o.signUrl ?? o.url ?? HTTP_URL,
    o.httpMethod ?? "POST",
    (e) => finalizeEvent(e, sk),
    true,
    (o.payload ?? JSON.parse(body)) as Record<string, unknown>,
  );
  return new Request(o.url ?? HTTP_URL, {
    method: "POST",
    headers: { "content-type": NIP86_CONTENT_TYPE, authorization: token },
    body,
  });
}

/** A request authorized by a kind-27235 event built by hand. */
function manual(
  sk: Uint8Array,
  call: Call,
  over: { created_at?: number; kind?: number; tags?: string[][] } = {},
): Request {
  const body = JSON.stringify(call);
  const e = finalizeEvent({
    kind: over.kind ?? 27235,
    created_at: over.created_at ?? Math.floor(Date.now() / 1000),
    content: "",
    tags: over.tags ?? [
      ["u", HTTP_URL],
      ["method", "POST"],
      ["payload", bytesToHex(sha256(new TextEncoder().encode(body)))],
    ],
  }, sk);
  return new Request(HTTP_URL, {
    method: "POST",
    headers: {
      "content-type": NIP86_CONTENT_TYPE,
      authorization: `Nostr ${btoa(JSON.stringify(e))}`,
    },
    body,
  });
}

async function answer(res: Response): Promise<{ status: number; body: Record<string, unknown> }> {
  assert.equal(res.headers.get("content-type"), NIP86_CONTENT_TYPE);
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  return { status: res.status, body: await res.json() };
}

function handlerOf(fx: Parameters<Parameters<typeof suite.test>[1]>[0]) {
  return createNip86Handler({ services: fx.deps, log: createLogger("nip86-test", "error") });
}

suite.test("an admin's signed banpubkey bans; listbannedpubkeys lists it", async (fx) => {
  const handle = handlerOf(fx);
  const target = getPublicKey(generateSecretKey());
  const ban = await answer(
    await handle(await signed(admin, { method: "banpubkey", params: [target, "spam"] })),
  );
  assert.deepEqual(ban, { status: 200, body: { result: true } });
  assert.deepEqual((await listBannedPubkeys(fx.deps)).items.map((b) => b.pubkey), [target]);
  const list = await answer(await handle(await signed(admin, { method: "listbannedpubkeys" })));
  assert.deepEqual(list.body, { result: [{ pubkey: target, reason: "spam" }] });
  const unban = await answer(
    await handle(await signed(admin, { method: "unbanpubkey", params: [target] })),
  );
  assert.deepEqual(unban.body, { result: true });
});

suite.test("supportedmethods lists every method for an admin, the grants for a grantee", async (fx) => {
  const handle = handlerOf(fx);
  const all = await answer(await handle(await signed(admin, { method: "supportedmethods" })));
  const methods = all.body.result as string[];
  for (
    const m of [
      "banpubkey",
      "allowpubkey",
      "listbannedpubkeys",
      "listallowedpubkeys",
      "listeventsneedingmoderation",
      "allowevent",
      "banevent",
      "listbannedevents",
      "changerelayname",
      "changerelaydescription",
      "changerelayicon",
      "allowkind",
      "disallowkind",
      "listallowedkinds",
      "blockip",
      "unblockip",
      "listblockedips",
      "createrole",
      "assignmethod",
    ]
  ) assert.ok(methods.includes(m), m);
  const mod = generateSecretKey();
  await assignMethod(fx.deps, getPublicKey(mod), "listbannedevents");
  const limited = await answer(await handle(await signed(mod, { method: "supportedmethods" })));
  assert.deepEqual(limited.body, { result: ["supportedmethods", "listbannedevents"] });
  const ok = await answer(await handle(await signed(mod, { method: "listbannedevents" })));
  assert.deepEqual(ok, { status: 200, body: { result: [] } });
  const refused = await answer(
    await handle(await signed(mod, { method: "banevent", params: [randomHex(64)] })),
  );
  assert.equal(refused.status, 401);
  assert.match(String(refused.body.error), /^unauthorized: this pubkey may not call banevent/);
});

suite.test("401 for a missing, non-admin, badly signed, wrong-URL, wrong-method, wrong-payload or stale authorization", async (fx) => {
  const handle = handlerOf(fx);
  const call = { method: "listbannedpubkeys", params: [] };
  async function refused(req: Request, why: RegExp) {
    const res = await answer(await handle(req));
    assert.equal(res.status, 401, `${why}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.result, null);
    assert.match(String(res.body.error), why);
  }
  await refused(
    new Request(HTTP_URL, {
      method: "POST",
      headers: { "content-type": NIP86_CONTENT_TYPE },
      body: JSON.stringify(call),
    }),
    /^unauthorized: missing Authorization/,
  );
  await refused(
    await signed(generateSecretKey(), call),
    /^unauthorized: this pubkey is not an admin/,
  );
  const good = await signed(admin, call);
  const event = JSON.parse(atob(good.headers.get("authorization")!.slice(6)));
  event.sig = event.sig.replace(/^./, (c: string) => (c === "0" ? "1" : "0"));
  await refused(
    new Request(HTTP_URL, {
      method: "POST",
      headers: {
        "content-type": NIP86_CONTENT_TYPE,
        authorization: `Nostr ${btoa(JSON.stringify(event))}`,
      },
      body: JSON.stringify(call),
    }),
    /bad signature/,
  );
  await refused(
    await signed(admin, call, { url: HTTP_URL, signUrl: "https://elsewhere.example/" }),
    /u tag is not this URL/,
  );
  await refused(await signed(admin, call, { httpMethod: "GET" }), /method tag/);
  await refused(
    await signed(admin, call, { payload: { method: "banpubkey", params: [] } }),
    /payload tag is not the sha256 of the body/,
  );
  await refused(
    manual(admin, call, { tags: [["u", HTTP_URL], ["method", "POST"]] }),
    /no payload tag/,
  );
  const now = Math.floor(Date.now() / 1000);
  await refused(manual(admin, call, { created_at: now - 120 }), /too old/);
  await refused(manual(admin, call, { created_at: now + 120 }), /too old or too far in the future/);
  await refused(manual(admin, call, { kind: 27236 }), /kind 27235/);
  const bad = new Request(HTTP_URL, {
    method: "POST",
    headers: { "content-type": NIP86_CONTENT_TYPE, authorization: "Nostr !!!" },
    body: "{}",
  });
  await refused(bad, /^unauthorized: missing Authorization/);
});

suite.test("the u tag may be the relay URL (ws or http form) or the request's own URL", async (fx) => {
  const handle = handlerOf(fx);
  const call = { method: "listblockedips" };
  for (const signUrl of [RELAY_URL, HTTP_URL, "https://RELAY.example.com"]) {
    const res = await answer(await handle(await signed(admin, call, { signUrl })));
    assert.equal(res.status, 200, signUrl);
  }
  const local = "http://127.0.0.1:9999/";
  const res = await answer(await handle(await signed(admin, call, { url: local })));
  assert.equal(res.status, 200);
});

suite.test("an Authorization event works once", async (fx) => {
  const handle = handlerOf(fx);
  const req = await signed(admin, { method: "listallowedkinds" });
  const again = req.clone();
  assert.equal((await answer(await handle(req))).status, 200);
  const second = await answer(await handle(again));
  assert.equal(second.status, 401);
  assert.match(String(second.body.error), /already used/);
});

suite.test("method errors come back as {result: null, error}", async (fx) => {
  const handle = handlerOf(fx);
  const unknown = await answer(await handle(await signed(admin, { method: "frobnicate" })));
  assert.deepEqual(unknown, {
    status: 200,
    body: { result: null, error: 'unsupported method: "frobnicate"' },
  });
  const badPubkey = await answer(
    await handle(await signed(admin, { method: "banpubkey", params: ["nope"] })),
  );
  assert.equal(badPubkey.status, 200);
  assert.match(String(badPubkey.body.error), /not a pubkey/);
  const missing = await answer(await handle(await signed(admin, { method: "banevent" })));
  assert.match(String(missing.body.error), /^invalid: param 1 \(event id\) must be a string/);
  const kind = await answer(
    await handle(await signed(admin, { method: "allowkind", params: ["1"] })),
  );
  assert.match(String(kind.body.error), /must be an integer/);
});

suite.test("kinds, IPs, events and relay info over NIP-86", async (fx) => {
  const handle = handlerOf(fx);
  async function call(method: string, ...params: unknown[]) {
    const res = await answer(await handle(await signed(admin, { method, params })));
    assert.equal(res.status, 200, `${method}: ${JSON.stringify(res.body)}`);
    return res.body.result;
  }
  assert.equal(await call("allowkind", 1), true);
  assert.equal(await call("disallowkind", 4), true);
  assert.deepEqual(await call("listallowedkinds"), [1]);
  assert.deepEqual(await call("listdisallowedkinds"), [4]);
  assert.equal(await call("blockip", "198.51.100.7", "abuse"), true);
  assert.deepEqual(await call("listblockedips"), [{ ip: "198.51.100.7", reason: "abuse" }]);
  assert.equal(await call("unblockip", "198.51.100.7"), true);
  const id = randomHex(64);
  assert.equal(await call("banevent", id, "bad"), true);
  assert.deepEqual(await call("listbannedevents"), [{ id, reason: "bad" }]);
  assert.equal(await call("allowevent", id), true);
  assert.deepEqual(await call("listbannedevents"), []);
  assert.deepEqual(await call("listallowedevents"), [{ id, reason: "" }]);
  assert.deepEqual(await call("listeventsneedingmoderation"), []);
  assert.equal(await call("changerelayname", "Renamed"), true);
  assert.equal(await call("changerelaydescription", "Described"), true);
  assert.equal(await call("changerelayicon", "https://example.com/i.png"), true);
  assert.deepEqual(await getRelayInfo(fx.deps), {
    name: "Renamed",
    description: "Described",
    icon: "https://example.com/i.png",
  });
  assert.equal(await call("createrole", "mod", "Moderator", "", "#00f", 1), true);
  const pk = getPublicKey(generateSecretKey());
  assert.equal(await call("assignrole", pk, "mod"), true);
  assert.deepEqual(await call("assignmethod", pk, "banpubkey"), [true, "granted"]);
  const assignees = await call("listmethodassignees") as { pubkey: string; methods: string[] }[];
  assert.deepEqual(assignees.find((a) => a.pubkey === pk), { pubkey: pk, methods: ["banpubkey"] });
  assert.deepEqual(await call("unassignmethod", pk, "banpubkey"), [true, "revoked"]);
  assert.equal(await call("unassignrole", pk, "mod"), true);
  assert.equal(await call("deleterole", "mod"), true);
});

suite.test("400 for a body that is not a request, 413 for a huge one", async (fx) => {
  const handle = handlerOf(fx);
  const notJson = manual(admin, { method: "x" });
  const body = "not json";
  const e = finalizeEvent({
    kind: 27235,
    created_at: Math.floor(Date.now() / 1000),
    content: "",
    tags: [["u", HTTP_URL], ["method", "POST"], [
      "payload",
      bytesToHex(sha256(new TextEncoder().encode(body))),
    ]],
  }, admin);
  const res = await answer(
    await handle(
      new Request(HTTP_URL, {
        method: "POST",
        headers: {
          "content-type": NIP86_CONTENT_TYPE,
          authorization: `Nostr ${btoa(JSON.stringify(e))}`,
        },
        body,
      }),
    ),
  );
  assert.deepEqual(res, {
    status: 400,
    body: { result: null, error: "invalid: the body is not JSON" },
  });
  await notJson.body?.cancel();
  const huge = await answer(
    await handle(
      new Request(HTTP_URL, {
        method: "POST",
        headers: { "content-type": NIP86_CONTENT_TYPE },
        body: "x".repeat(MAX_BODY_BYTES + 1),
      }),
    ),
  );
  assert.equal(huge.status, 413);
});

suite.end();
