import assert from "node:assert/strict";
import { computeId, type NostrEvent } from "../lib/nostr/event.ts";
import type { Filter } from "../lib/nostr/filter.ts";
import { createLogger } from "../lib/log.ts";
import { createLiveHandler, postgresSearch, type SearchMatcher } from "./live.ts";
import { scratchDatabaseUrl } from "./_testing.ts";
import { connectPostgres } from "../lib/db.ts";
import { SubStream } from "./sub_stream.ts";
import { SubscriptionIndex } from "./subscriptions.ts";

function event(n: number, overrides: Partial<NostrEvent> = {}): string {
  const base = {
    pubkey: "a".repeat(64),
    created_at: 1000 + n,
    kind: 1,
    tags: [] as string[][],
    content: `note ${n}`,
    ...overrides,
  };
  return JSON.stringify({ id: computeId(base), ...base, sig: "0".repeat(128) });
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup(search: SearchMatcher = () => Promise.resolve(new Set())) {
  const index = new SubscriptionIndex<SubStream>();
  const frames: string[] = [];
  function subscribe(sid: string, filters: Filter[], live = true, authed: string[] = []) {
    const owner = { authed, send: (f: string) => frames.push(f), overflow() {} };
    const s = new SubStream(sid, 1, filters, owner);
    if (live) s.stored([], true);
    index.add(s);
    return s;
  }
  const onLive = createLiveHandler({
    index,
    searchKinds: [1],
    search,
    dmPrivacy: true,
    log: createLogger("test", "error"),
    now: () => 2_000_000_000, // ms: unix time 2,000,000
  });
  function received(): string[] {
    return frames.map((f) => JSON.parse(f)).filter((m) => m[0] === "EVENT").map((m) =>
      `${m[1]}:${m[2].content}`
    );
  }
  return { index, subscribe, onLive, received, frames };
}

Deno.test("createLiveHandler() delivers the raw event to each matching subscription", () => {
  const { subscribe, onLive, received, frames } = setup();
  subscribe("mine", [{ authors: ["a".repeat(64)] }]);
  subscribe("other", [{ kinds: [7] }]);
  const raw = event(1);
  onLive(raw);
  assert.deepEqual(received(), ["mine:note 1"]);
  assert.equal(frames.at(-1), `["EVENT","mine",${raw}]`);
});

Deno.test("createLiveHandler() skips expired events", () => {
  const { subscribe, onLive, received } = setup();
  subscribe("all", [{}]);
  onLive(event(1, { tags: [["expiration", "1999999"]] }));
  onLive(event(2, { tags: [["expiration", "2000001"]] }));
  assert.deepEqual(received(), ["all:note 2"]);
});

Deno.test("createLiveHandler() confirms search filters without delaying plain ones", async () => {
  const answers = [deferred<Set<string>>(), deferred<Set<string>>()];
  const asked: string[][] = [];
  const { subscribe, onLive, received } = setup((_e, queries) => {
    asked.push(queries);
    return answers[asked.length - 1]!.promise;
  });
  subscribe("search", [{ search: "note" }, { kinds: [1], search: "other words" }]);
  subscribe("plain", [{ kinds: [1] }]);
  subscribe("unsearchable", [{ kinds: [7], search: "note" }]);
  onLive(event(1));
  onLive(event(2));
  onLive(event(3, { kind: 7 }));
  assert.deepEqual(received(), ["plain:note 1", "plain:note 2"]);
  assert.deepEqual(asked, [["note", "other words"], ["note", "other words"]]);
  answers[1]!.resolve(new Set(["note"])); // the second answer comes first
  await Promise.resolve();
  assert.deepEqual(received(), ["plain:note 1", "plain:note 2"]);
  answers[0]!.resolve(new Set(["other words"]));
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(received(), ["plain:note 1", "plain:note 2", "search:note 1", "search:note 2"]);
});

Deno.test("createLiveHandler() survives a failed search query", async () => {
  let calls = 0;
  const { subscribe, onLive, received } = setup(() => {
    calls++;
    return calls === 1 ? Promise.reject(new Error("db down")) : Promise.resolve(new Set(["x"]));
  });
  subscribe("search", [{ search: "x" }]);
  onLive(event(1));
  onLive(event(2));
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(received(), ["search:note 2"]);
});

Deno.test("createLiveHandler() does not resend a stored event confirmed by search after EOSE", async () => {
  const answer = deferred<Set<string>>();
  const { subscribe, onLive, received } = setup(() => answer.promise);
  const stream = subscribe("search", [{ search: "note" }], false);
  const raw = event(1);
  onLive(raw); // arrives while loading; Postgres answers after the stored phase ended
  stream.stored([raw], true);
  answer.resolve(new Set(["note"]));
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(received(), ["search:note 1"]);
});

Deno.test({
  name: "postgresSearch() returns the queries Postgres full-text search matches",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const sql = connectPostgres(scratchDatabaseUrl(), { max: 1 });
  try {
    const search = postgresSearch(() => sql, "english");
    const e = JSON.parse(event(1, { content: "Running relays on Deno" }));
    const hits = await search(e, ["relay", "deno -relay", '"running relays"', "python", ""]);
    assert.deepEqual([...hits].sort(), ['"running relays"', "relay"]);
    const meta = JSON.parse(event(2, { kind: 0, content: '{"name":"Alice","about":"nostr dev"}' }));
    assert.deepEqual([...await search(meta, ["alice", "name"])], ["alice"]);
  } finally {
    await sql.end();
  }
});

Deno.test("createLiveHandler() delivers DMs only to connections of their participants", () => {
  const { subscribe, onLive, received } = setup();
  const [author, recipient, other] = ["a", "b", "c"].map((c) => c.repeat(64));
  subscribe("author", [{ kinds: [4, 1059] }], true, [author!]);
  subscribe("recipient", [{ kinds: [4, 1059] }], true, ["d".repeat(64), recipient!]);
  subscribe("other", [{ kinds: [4, 1059] }, {}], true, [other!]);
  subscribe("anonymous", [{}], true, []);
  onLive(event(1, { kind: 4, pubkey: author!, tags: [["p", recipient!]], content: "dm" }));
  onLive(event(2, { kind: 1059, pubkey: other!, tags: [["p", recipient!]], content: "wrap" }));
  onLive(event(3, { kind: 1, pubkey: author!, content: "note" }));
  assert.deepEqual(received(), [
    "author:dm",
    "recipient:dm",
    "recipient:wrap",
    "other:wrap",
    "other:note",
    "anonymous:note",
  ]);
});
