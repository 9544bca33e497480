/**
 * Bad input thrown at a live relay: thousands of generated malformed frames, filters and events
 * (fast-check, fixed seed; FUZZ_SEED and FUZZ_RUNS for a longer run), then hand-picked extremes.
 * Nothing may crash the relay, every frame it sends must be a well-formed NIP-01 relay message
 * (refusals with a machine-readable prefix), and the connection must stay usable.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { NostrEvent } from "../lib/nostr/event.ts";
import { signer, TestClient } from "./_client.ts";
import { startRelay } from "./_harness.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 424242);
const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 1500);

/** NIP-01 machine-readable prefixes of refusals. */
const PREFIX =
  /^(duplicate|pow|blocked|rate-limited|invalid|restricted|mute|error|auth-required): /;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

function isEvent(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const v = e as Record<string, unknown>;
  return typeof v.id === "string" && HEX64.test(v.id) &&
    typeof v.pubkey === "string" && HEX64.test(v.pubkey) &&
    typeof v.sig === "string" && HEX128.test(v.sig) &&
    Number.isSafeInteger(v.kind) && Number.isSafeInteger(v.created_at) &&
    typeof v.content === "string" &&
    Array.isArray(v.tags) &&
    v.tags.every((t) => Array.isArray(t) && t.every((x) => typeof x === "string"));
}

/** Why `data` is not a valid relay-to-client message, or undefined when it is one. */
export function relayMessageProblem(data: unknown): string | undefined {
  if (typeof data !== "string") return "binary frame from the relay";
  let f: unknown;
  try {
    f = JSON.parse(data);
  } catch {
    return "not JSON";
  }
  if (!Array.isArray(f) || typeof f[0] !== "string") return "not an array with a verb";
  const str = (x: unknown) => typeof x === "string";
  switch (f[0]) {
    case "OK":
      if (f.length !== 4 || !str(f[1]) || typeof f[2] !== "boolean" || !str(f[3])) {
        return "OK shape";
      }
      if (!HEX64.test(f[1]) && f[1] !== "") return "OK id";
      if (f[2] === false && !PREFIX.test(f[3])) return "OK false without a prefix";
      return undefined;
    case "NOTICE":
      if (f.length !== 2 || !str(f[1])) return "NOTICE shape";
      return PREFIX.test(f[1]) ? undefined : "NOTICE without a prefix";
    case "CLOSED":
      if (f.length !== 3 || !str(f[1]) || !str(f[2])) return "CLOSED shape";
      return PREFIX.test(f[2]) ? undefined : "CLOSED without a prefix";
    case "EOSE":
      return f.length === 2 && str(f[1]) ? undefined : "EOSE shape";
    case "EVENT":
      return f.length === 3 && str(f[1]) && isEvent(f[2]) ? undefined : "EVENT shape";
    case "COUNT": {
      const body = f[2] as { count?: unknown; approximate?: unknown } | null;
      const ok = f.length === 3 && str(f[1]) && typeof body === "object" && body !== null &&
        Number.isSafeInteger(body.count) && (body.count as number) >= 0 &&
        (body.approximate === undefined || typeof body.approximate === "boolean");
      return ok ? undefined : "COUNT shape";
    }
    case "AUTH":
      return f.length === 2 && str(f[1]) ? undefined : "AUTH shape";
    default:
      return `unknown verb ${JSON.stringify(f[0])}`;
  }
}

/** Watches every frame a client receives and keeps the invalid ones. */
function watch(c: TestClient): { bad: { problem: string; frame: string }[] } {
  const out = { bad: [] as { problem: string; frame: string }[] };
  c.socket.addEventListener("message", (m) => {
    const problem = relayMessageProblem(m.data);
    if (problem) out.bad.push({ problem, frame: String(m.data).slice(0, 300) });
  });
  return out;
}

Deno.test("relayMessageProblem() accepts NIP-01 relay messages and rejects malformed ones", () => {
  const id = "a".repeat(64);
  for (
    const good of [
      ["OK", id, true, ""],
      ["OK", id, false, "duplicate: have it"],
      ["NOTICE", "invalid: bad"],
      ["CLOSED", "s", "error: down"],
      ["EOSE", "s"],
      ["COUNT", "s", { count: 3 }],
      ["AUTH", "challenge"],
      ["EVENT", "s", BASE[0]],
    ]
  ) assert.equal(relayMessageProblem(JSON.stringify(good)), undefined, JSON.stringify(good));
  for (
    const bad of [
      ["OK", id, false, "no prefix"],
      ["OK", "abc", true, ""],
      ["NOTICE", "plain text"],
      ["CLOSED", "s", "why"],
      ["EOSE"],
      ["COUNT", "s", { count: -1 }],
      ["EVENT", "s", { ...BASE[0], kind: "1" }],
      ["HELLO"],
    ]
  ) assert.notEqual(relayMessageProblem(JSON.stringify(bad)), undefined, JSON.stringify(bad));
  assert.notEqual(relayMessageProblem("not json"), undefined);
});

// ---- generators ----

/** Numbers as JSON text that JSON.stringify cannot produce, plus edge values. */
const NUMBER_TEXTS = [
  "1e400",
  "-1e400",
  "-0",
  "18446744073709551616",
  "9007199254740993",
  "-9007199254740993",
  "1e-400",
  "0.5",
  "-1",
  "65536",
  "4294967296",
  '"NaN"',
  '"Infinity"',
  '"-0"',
  '"1e3"',
  "NaN",
  "Infinity",
  "0x10",
  "01",
  "1.",
  "null",
  "true",
  "[]",
  "{}",
];
const numberText = fc.constantFrom(...NUMBER_TEXTS);
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const anyJson = fc.jsonValue({ maxDepth: 3 });
const verb = fc.constantFrom(
  "EVENT",
  "REQ",
  "COUNT",
  "CLOSE",
  "AUTH",
  "event",
  "REQ ",
  "",
  "NEG-OPEN",
);
const sid = fc.oneof(
  fc.string({ minLength: 1, maxLength: 64 }),
  fc.string({ unit: "binary", maxLength: 70 }),
  anyJson,
);
const filterKey = fc.constantFrom(
  "ids",
  "authors",
  "kinds",
  "since",
  "until",
  "limit",
  "search",
  "#e",
  "#p",
  "#t",
  "#d",
  "#ab",
  "#",
  "e",
  "__proto__",
  "constructor",
);
const filterValue = fc.oneof(
  anyJson,
  fc.array(hex(64), { maxLength: 3 }),
  fc.array(fc.oneof(hex(64), hex(63), fc.string(), fc.integer()), { maxLength: 4 }),
  fc.array(fc.integer({ min: -70000, max: 70000 }), { maxLength: 4 }),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 30 }),
);
const filter = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(filterKey, filterValue, { maxKeys: 4 }) },
  { weight: 1, arbitrary: anyJson },
);

/** A few real signed events to mutate. */
const alice = signer();
const BASE: NostrEvent[] = [
  alice.sign({ content: "hello" }),
  alice.sign({ kind: 0, content: "{}" }),
  alice.sign({ kind: 30023, tags: [["d", "x"], ["t", "fuzz"]], content: "long" }),
  alice.sign({ kind: 7, tags: [["e", "a".repeat(64)]], content: "+" }),
  alice.sign({ kind: 20001, content: "ephemeral" }),
];
const field = fc.constantFrom("id", "pubkey", "created_at", "kind", "tags", "content", "sig", "x");
const mutatedEvent = fc.oneof(
  fc.tuple(fc.constantFrom(...BASE), field, anyJson).map(([e, k, v]) => ({ ...e, [k]: v })),
  fc.tuple(fc.constantFrom(...BASE), field).map(([e, k]) => {
    const copy: Record<string, unknown> = { ...e };
    delete copy[k];
    return copy;
  }),
  fc.tuple(fc.constantFrom(...BASE), hex(128)).map(([e, sig]) => ({ ...e, sig })),
  fc.tuple(fc.constantFrom(...BASE), fc.array(fc.array(fc.string(), { maxLength: 3 }))).map((
    [e, tags],
  ) => ({ ...e, tags })),
  anyJson,
);

/** One frame to send: text (JSON or not) or binary. */
type Frame = string | Uint8Array;
const frame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 100 }) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  {
    weight: 2,
    arbitrary: fc.tuple(verb, fc.array(anyJson, { maxLength: 3 })).map(([v, rest]) =>
      JSON.stringify([v, ...rest])
    ),
  },
  { weight: 3, arbitrary: mutatedEvent.map((e) => JSON.stringify(["EVENT", e])) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom("REQ", "COUNT"), sid, fc.array(filter, { maxLength: 4 }))
      .map(([v, s, fs]) => JSON.stringify([v, s, ...fs])),
  },
  { weight: 1, arbitrary: sid.map((s) => JSON.stringify(["CLOSE", s])) },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(["AUTH", v])) },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom("limit", "since", "until", "kinds", "kind", "created_at"),
      numberText,
    ).map(([k, n]) =>
      k === "kind" || k === "created_at"
        ? JSON.stringify(["EVENT", BASE[0]]).replace(
          new RegExp(`"${k}":\\d+`),
          `"${k}":${n}`,
        )
        : k === "kinds"
        ? `["REQ","num",{"kinds":[${n}]}]`
        : `["REQ","num",{"${k}":${n}}]`
    ),
  },
);

let probes = 0;
/** A synchronous refusal used as a barrier: its CLOSED comes after every earlier direct answer. */
async function probe(c: TestClient): Promise<void> {
  const id = `probe-${++probes}`;
  c.send(["REQ", id, { kinds: [-1] }]);
  await c.next((f) => f[0] === "CLOSED" && f[1] === id, 10_000);
}

/** A valid EVENT is accepted: the connection is still fully usable. */
async function stillUsable(c: TestClient, what: string): Promise<void> {
  assert.equal(c.socket.readyState, WebSocket.OPEN, `connection open after ${what}`);
  const e = alice.sign({ content: `after ${what}` });
  assert.deepEqual(await c.publish(e), ["OK", e.id, true, ""], `usable after ${what}`);
}

Deno.test({
  name: "fuzz - generated frames, filters and events get valid answers on a usable connection",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using relay = await startRelay();
    await using c = await TestClient.connect(relay.url);
    const seen = watch(c);
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 4 }), async (frames) => {
        for (const f of frames) c.send(f);
        await probe(c);
        assert.equal(c.socket.readyState, WebSocket.OPEN, "connection still open");
        assert.deepEqual(seen.bad, [], "every relay message is valid NIP-01");
        // Forget subscriptions the batch may have opened, so later REQs are not refused for
        // their number.
        for (const f of frames) {
          const sub = typeof f === "string" ? /^\["(?:REQ|COUNT)","([^"\\]{1,64})"/.exec(f) : null;
          if (sub) c.send(["CLOSE", sub[1]!]);
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    await stillUsable(c, `${RUNS} generated batches`);
    assert.deepEqual(seen.bad, []);
  },
});

Deno.test({
  name: "fuzz - extreme inputs: huge ids, deep JSON, 1 MB and binary frames, bad UTF-8, numbers",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using relay = await startRelay();
    await using c = await TestClient.connect(relay.url);
    const seen = watch(c);
    const cases: [string, Frame[]][] = [
      ["a 100k-character subscription id", [
        JSON.stringify(["REQ", "s".repeat(100_000), {}]),
        JSON.stringify(["COUNT", "c".repeat(100_000), {}]),
        JSON.stringify(["CLOSE", "x".repeat(100_000)]),
      ]],
      ["64 astral characters as a subscription id", [
        JSON.stringify(["REQ", "😀".repeat(64), { limit: 0 }]),
        JSON.stringify(["REQ", "😀".repeat(65), {}]),
        JSON.stringify(["CLOSE", "😀".repeat(64)]),
      ]],
      ["deep JSON", [
        "[".repeat(100_000) + "]".repeat(100_000),
        `["REQ","deep",${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}]`,
        `["EVENT",{"tags":${"[".repeat(50_000)}${"]".repeat(50_000)}}]`,
        "[".repeat(200_000),
      ]],
      ["1 MB frames", [
        JSON.stringify(["EVENT", { ...BASE[0], content: "x".repeat(1 << 20) }]),
        "x".repeat(1 << 20),
        JSON.stringify(["REQ", "big", { ids: Array(20_000).fill("a".repeat(64)) }]),
      ]],
      ["binary frames", [
        new Uint8Array(0),
        new TextEncoder().encode(JSON.stringify(["EVENT", BASE[0]])),
        crypto.getRandomValues(new Uint8Array(65_536)),
      ]],
      ["lone surrogates and odd unicode", [
        '["EVENT",{"content":"\\ud800"}]',
        `["REQ","\\udfff",{}]`,
        JSON.stringify(["EVENT", { ...BASE[0], content: "\u0000\u202e\uffff" }]),
        '["REQ","nul\\u0000",{"#t":["\\u0000"]}]',
      ]],
      ["many filters", [
        JSON.stringify(["REQ", "f100", ...Array(100).fill({ kinds: [1], limit: 1 })]),
        JSON.stringify(["REQ", "f101", ...Array(101).fill({ kinds: [1] })]),
        JSON.stringify(["COUNT", "c101", ...Array(101).fill({})]),
      ]],
      ["many tags", [
        JSON.stringify(["EVENT", { ...BASE[0], tags: Array(2501).fill(["t", "x"]) }]),
        JSON.stringify(["EVENT", { ...BASE[0], tags: Array(2500).fill(["t", "x"]) }]),
        JSON.stringify(["REQ", "tags", { "#t": Array(5000).fill("x") }]),
      ]],
      [
        "numbers out of range",
        NUMBER_TEXTS.flatMap((n) => [
          `["REQ","n",{"limit":${n}}]`,
          `["REQ","n",{"since":${n},"until":${n}}]`,
          `["REQ","n",{"kinds":[${n}]}]`,
          `["COUNT","n",{"kinds":[${n}]}]`,
          JSON.stringify(["EVENT", BASE[0]]).replace(/"kind":\d+/, `"kind":${n}`),
          JSON.stringify(["EVENT", BASE[0]]).replace(/"created_at":\d+/, `"created_at":${n}`),
        ]),
      ],
    ];
    for (const [what, frames] of cases) {
      await t.step(what, async () => {
        for (const f of frames) c.send(f);
        await probe(c);
        for (const sub of ["f100", "😀".repeat(64), "tags", "n"]) c.send(["CLOSE", sub]);
        await stillUsable(c, what);
        assert.deepEqual(seen.bad, []);
      });
    }

    await t.step("a 2500-tag signed event is accepted, one more tag is refused", async () => {
      const tags = Array.from({ length: 2500 }, (_, i) => ["t", `tag${i}`]);
      const max = alice.sign({ tags });
      assert.deepEqual(await c.publish(max), ["OK", max.id, true, ""]);
      const over = alice.sign({ tags: [...tags, ["t", "one more"]] });
      const ok = await c.publish(over);
      assert.equal(ok[2], false);
      assert.match(ok[3], /^invalid: /);
    });

    await t.step("invalid UTF-8 in a text frame ends only that connection", async () => {
      const before = await relay.redis.scard(relay.keys.connections);
      const closeCode = await rawTextFrame(
        relay.url,
        new Uint8Array([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]),
      );
      // RFC 6455 says fail the connection, preferably with a 1007 close frame; Deno's runtime
      // drops the TCP connection without one (code undefined).
      assert.ok(closeCode === undefined || closeCode === 1007, `close code ${closeCode}`);
      await stillUsable(c, "another client sent invalid UTF-8");
      assert.equal(await relay.redis.scard(relay.keys.connections), before);
    });
    assert.deepEqual(seen.bad, []);
  },
});

/**
 * Opens a websocket by hand, sends one masked text frame with `payload` (which may be invalid
 * UTF-8, impossible through the WebSocket API), reads until the relay ends the connection and
 * returns the code of its close frame (undefined when it sent none).
 */
async function rawTextFrame(url: string, payload: Uint8Array): Promise<number | undefined> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await conn.write(new TextEncoder().encode(
      `GET / HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const body = payload.map((b, i) => b ^ mask[i % 4]!);
    await conn.write(new Uint8Array([0x81, 0x80 | payload.length, ...mask, ...body]));
    const bytes = await readToEnd(conn, 10_000);
    const head = new TextDecoder().decode(bytes).indexOf("\r\n\r\n");
    assert.ok(head > 0, "the relay answered the upgrade");
    for (let at = head + 4; at + 2 <= bytes.length;) {
      const opcode = bytes[at]! & 0x0f;
      const len = bytes[at + 1]! & 0x7f; // frames from the relay here are short
      if (opcode === 0x8) return len >= 2 ? (bytes[at + 2]! << 8) | bytes[at + 3]! : 1005;
      at += 2 + len;
    }
    return undefined;
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

/** Every byte until the peer closes, within `ms`. */
async function readToEnd(conn: Deno.Conn, ms: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(1 << 16);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
