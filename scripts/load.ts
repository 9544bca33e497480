/**
 * `deno task load [--events=N] [--relay=ws://…] [--sign]`: bulk-loads N events of the bench's
 * kind mix (scripts/bench/corpus.ts: notes, reactions, metadata, 200–400-follow contact lists,
 * relay lists, long-form posts; one author per block of twenty) straight into the database of
 * DATABASE_URL through COPY, for measuring queries over a large store (docs/PERFORMANCE.md).
 *
 * Each chunk is COPied into temporary staging tables, then moved into `authors`, `events`,
 * `searchable_tags` and `searchable_contents` by set-based inserts in one transaction, with the
 * same derived columns the worker writes (d tag, expiration, first value of single-letter tags,
 * search text of NIP_50_CONTENT_SEARCHABLE_KINDS). Ids are real (sha256 of the serialization);
 * signatures are random unless `--sign` (nostr-wasm, about 0.35 ms each): the relay serves stored
 * events without re-verifying them, and the loader only feeds queries. Authors are new, so no
 * replaceable version competes with another and no NIP-09 rule applies.
 *
 * Verification at the end: the number of events stored grew by exactly N, and with `--relay` a
 * REQ by ids for a sample of loaded events returns each of them, byte for byte.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type postgres from "postgres";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { initNostrWasm } from "nostr-wasm";
import { loadConfig } from "../lib/config.ts";
import { connectPostgres, type Sql } from "../lib/db.ts";
import {
  canonicalJson,
  dTag,
  expiration,
  idPayload,
  kindClass,
  type NostrEvent,
} from "../lib/nostr/event.ts";
import { searchableText } from "../lib/nostr/search.ts";
import { Corpus, type Finalize, type SignedEvent } from "./bench/corpus.ts";
import { RelaySocket } from "./bench/relay_socket.ts";

/** Longest tag value indexed (as the worker: workers/store_event.ts MAX_TAG_VALUE_LENGTH). */
const MAX_TAG_VALUE_LENGTH = 1024;

const encoder = new TextEncoder();

function print(text: string, to: "stdout" | "stderr" = "stdout"): void {
  const bytes = encoder.encode(text + "\n");
  const out = to === "stdout" ? Deno.stdout : Deno.stderr;
  let written = 0;
  while (written < bytes.length) written += out.writeSync(bytes.subarray(written));
}

function randomHex(bytes: number): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** An id-only finalizer: real id, random signature. */
const unsigned: Finalize = (t, author) => {
  const e = { pubkey: author.pubkey, ...t };
  const id = bytesToHex(sha256(encoder.encode(idPayload(e))));
  return { id, ...e, sig: randomHex(64) };
};

/** Escapes one value for COPY's text format. */
function copyText(v: string | number | null): string {
  if (v === null) return "\\N";
  if (typeof v === "number") return String(v);
  return v.replace(
    /[\\\n\r\t]/g,
    (c) => c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t",
  );
}

function row(values: (string | number | null)[]): string {
  return values.map(copyText).join("\t") + "\n";
}

/** COPies `lines` into `table (columns)` on `tx`. */
async function copyInto(
  tx: postgres.TransactionSql,
  table: string,
  columns: string,
  lines: string[],
) {
  const writable = await tx.unsafe(`copy ${table} (${columns}) from stdin`).writable();
  const writer = writable as unknown as {
    write(chunk: string): boolean;
    end(cb: () => void): void;
    on(event: "error", fn: (err: unknown) => void): void;
    once(event: "drain", fn: () => void): void;
  };
  await new Promise<void>((resolve, reject) => {
    writer.on("error", reject);
    let i = 0;
    const CHUNK = 2000;
    function next() {
      while (i < lines.length) {
        const ok = writer.write(lines.slice(i, i + CHUNK).join(""));
        i += CHUNK;
        if (!ok) {
          writer.once("drain", next);
          return;
        }
      }
      writer.end(() => resolve());
    }
    next();
  });
}

/** Stores one chunk of events in one transaction. */
async function loadChunk(sql: Sql, events: SignedEvent[], language: string, searchKinds: number[]) {
  const evRows: string[] = [];
  const tagRows: string[] = [];
  const textRows: string[] = [];
  for (const e of events as NostrEvent[]) {
    const cls = kindClass(e.kind);
    evRows.push(row([
      "\\x" + e.id,
      "\\x" + e.pubkey,
      e.kind,
      e.created_at,
      cls === "addressable" ? dTag(e) : null,
      expiration(e),
      canonicalJson(e),
    ]));
    const seen = new Set<string>();
    for (const t of e.tags) {
      const [name, value] = t;
      if (name === undefined || value === undefined || !/^[a-zA-Z]$/.test(name)) continue;
      if (value.length > MAX_TAG_VALUE_LENGTH || value.includes("\u0000")) continue;
      const key = `${name}\u0000${value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      tagRows.push(row(["\\x" + e.id, name, value, e.created_at]));
    }
    if (searchKinds.includes(e.kind)) textRows.push(row(["\\x" + e.id, searchableText(e)]));
  }
  await sql.begin(async (tx) => {
    await tx`create temp table load_events (event_id bytea, pubkey bytea, kind int,
      created_at bigint, d_tag text, expires_at bigint, raw text) on commit drop`;
    await tx`create temp table load_tags (event_id bytea, name text, value text,
      created_at bigint) on commit drop`;
    await tx`create temp table load_texts (event_id bytea, txt text) on commit drop`;
    await copyInto(
      tx,
      "load_events",
      "event_id, pubkey, kind, created_at, d_tag, expires_at, raw",
      evRows,
    );
    await copyInto(tx, "load_tags", "event_id, name, value, created_at", tagRows);
    await copyInto(tx, "load_texts", "event_id, txt", textRows);
    await tx`insert into authors (pubkey) select distinct pubkey from load_events
      order by pubkey on conflict (pubkey) do nothing`;
    await tx`insert into events (event_id, author_id, kind, created_at, d_tag, expires_at, raw)
      select l.event_id, a.id, l.kind, l.created_at, l.d_tag, l.expires_at, l.raw
      from load_events l join authors a on a.pubkey = l.pubkey
      order by l.created_at
      on conflict (event_id) do nothing`;
    await tx`insert into searchable_tags (event_id, name, value, created_at)
      select e.id, t.name, t.value, t.created_at
      from load_tags t join events e on e.event_id = t.event_id
      on conflict do nothing`;
    await tx`insert into searchable_contents (event_id, tsv)
      select e.id, to_tsvector(${language}::text::regconfig, x.txt)
      from load_texts x join events e on e.event_id = x.event_id
      on conflict do nothing`;
  });
}

/** REQ by ids for `sample` through the relay; returns the ids that did not come back intact. */
async function checkThroughRelay(url: string, sample: SignedEvent[]): Promise<string[]> {
  const socket = await RelaySocket.connect(url, 10_000);
  const want = new Map(sample.map((e) => [e.id, canonicalJson(e as NostrEvent)]));
  const got = new Set<string>();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("Cannot check: no EOSE within 30 s")), 30_000);
    socket.handlers = {
      event(_sid, raw) {
        const e = (JSON.parse(raw) as [string, string, NostrEvent])[2];
        if (want.get(e.id) === canonicalJson(e)) got.add(e.id);
      },
      eose() {
        clearTimeout(timer);
        resolve();
      },
      closed(_sid, message) {
        clearTimeout(timer);
        reject(new Error(`Cannot check: CLOSED ${message}`));
      },
    };
    socket.send(JSON.stringify(["REQ", "load-check", { ids: [...want.keys()] }]));
  });
  await socket.close();
  return [...want.keys()].filter((id) => !got.has(id));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      events: { type: "string", default: "1000000" },
      chunk: { type: "string", default: "20000" },
      relay: { type: "string" },
      sign: { type: "boolean", default: false },
      "span-days": { type: "string", default: "30" },
    },
  });
  const total = Number(values.events);
  const chunk = Number(values.chunk);
  if (!Number.isInteger(total) || total < 1 || !Number.isInteger(chunk) || chunk < 20) {
    print("usage: deno task load [--events=N] [--chunk=N] [--relay=ws://…] [--sign]", "stderr");
    return 2;
  }
  const config = loadConfig();
  const sql = connectPostgres(config.databaseUrl, { max: 2, appName: "nostr-relay-load" });
  let finalize = unsigned;
  if (values.sign) {
    const wasm = await initNostrWasm();
    const keys = new Map<string, Uint8Array>();
    finalize = (t, author) => {
      let sk = keys.get(author.pubkey);
      if (!sk) keys.set(author.pubkey, sk = wasm.generateSecretKey());
      const e = { ...t, id: "", pubkey: "", sig: "" };
      wasm.finalizeEvent(e, sk);
      return e;
    };
  }
  const corpus = new Corpus({
    finalize,
    spanSeconds: Number(values["span-days"]) * 86400,
    directorySize: 100_000,
  });
  const [{ n: before }] = await sql`select count(*)::int as n from events` as unknown as [
    { n: number },
  ];
  const started = performance.now();
  let loaded = 0;
  let sample: SignedEvent[] = [];
  while (loaded < total) {
    const events: SignedEvent[] = [];
    const want = Math.min(chunk, total - loaded);
    while (events.length < want) {
      const author = corpus.newAuthor();
      // when signing, the corpus' author key is unused: events get the WASM key's pubkey
      events.push(...corpus.authorBlock(author));
    }
    events.length = want;
    await loadChunk(sql, events, config.searchLanguage, [...config.searchKinds]);
    loaded += events.length;
    if (sample.length < 50) sample.push(...events.filter((_, i) => i % 997 === 0).slice(0, 5));
    const s = (performance.now() - started) / 1000;
    print(
      `loaded ${loaded}/${total} events in ${s.toFixed(0)} s (${(loaded / s).toFixed(0)}/s)`,
      "stderr",
    );
  }
  const [{ n: after }] = await sql`select count(*)::int as n from events` as unknown as [
    { n: number },
  ];
  await sql.end();
  const seconds = (performance.now() - started) / 1000;
  const report: Record<string, unknown> = {
    loaded,
    seconds: Math.round(seconds),
    events_per_s: Math.round(loaded / seconds),
    events_before: before,
    events_after: after,
    count_ok: after - before === loaded,
  };
  sample = sample.slice(0, 50);
  if (values.relay) {
    const missing = await checkThroughRelay(values.relay, sample);
    report.sample_req = { asked: sample.length, missing: missing.length };
  }
  print(JSON.stringify(report));
  const ok = report.count_ok && (!values.relay ||
    (report.sample_req as { missing: number }).missing === 0);
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
