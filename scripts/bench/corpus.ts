/**
 * The bench's workload: signed events in a realistic kind mix, generated per author in blocks of
 * twenty (11 × kind 1, 5 × kind 7, and one each of kinds 0, 3, 10002 and 30023), so that every
 * author has at most one version of each replaceable kind and no replacement races muddy the
 * OK counts. Tags are real: replies and reactions carry e/p tags pointing at earlier notes
 * (skewed toward a few popular ones), contact lists carry a few hundred p tags, relay lists carry
 * r tags and long-form posts carry d/title/published_at/t tags and a few KB of content.
 *
 * @module
 */
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";

/** A signed event as the relay sees it. */
export interface SignedEvent {
  id: string;
  pubkey: string;
  created_at: number;
  kind: number;
  tags: string[][];
  content: string;
  sig: string;
}

/** A signed event ready to send: its `["EVENT", …]` frame is serialized before the clock starts. */
export interface PreparedEvent {
  id: string;
  kind: number;
  frame: string;
}

/** One author of the workload. */
export interface Author {
  sk: Uint8Array;
  pubkey: string;
}

const WORDS = (
  "nostr relay event note zap lightning bitcoin freedom protocol client key signature " +
  "follow mute list thread reply reaction post article long form content media image link " +
  "today tomorrow weekend coffee music code deno typescript postgres redis queue worker web " +
  "socket latency throughput bench index query filter tag kind author pubkey id hello gm"
).split(" ");
/** Hashtags of long-form posts (and some notes); `#t` queries pick from these. */
export const TOPICS = [
  "nostr",
  "bitcoin",
  "deno",
  "postgres",
  "music",
  "art",
  "photography",
  "travel",
  "food",
  "science",
  "privacy",
  "design",
  "books",
  "running",
  "linux",
  "security",
  "history",
  "math",
  "climate",
  "gardening",
];
const BLOCK_KINDS = [0, 10002, 1, 1, 7, 1, 3, 1, 7, 1, 1, 7, 30023, 1, 7, 1, 1, 7, 1, 1];
const SPAN_SECONDS = 48 * 3600;

function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(Math.random() * xs.length)] as T;
}

function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

function sentence(minWords: number, maxWords: number): string {
  const n = minWords + Math.floor(Math.random() * (maxWords - minWords + 1));
  return Array.from({ length: n }, () => pick(WORDS)).join(" ");
}

/** Turns a template into a finished event of `author` (id and sig). */
export type Finalize = (
  t: { kind: number; created_at: number; tags: string[][]; content: string },
  author: Author,
) => SignedEvent;

/** The default finalizer: nostr-tools' `finalizeEvent` with the author's secret key. */
export const signWithKey: Finalize = (t, author) => finalizeEvent(t, author.sk) as SignedEvent;

/** Generates and signs the workload; keeps a pool of earlier notes for e/p references. */
export class Corpus {
  /** Pubkeys without keys of their own that contact lists and mentions point at. */
  readonly directory: string[];
  /** Total time spent signing, ms. */
  signMs = 0;
  /** Events signed. */
  signed = 0;
  #notes: { id: string; pubkey: string }[] = [];
  #now: number;

  #finalize: Finalize;
  #spanSeconds: number;

  constructor(
    opts: { directorySize?: number; now?: number; finalize?: Finalize; spanSeconds?: number } = {},
  ) {
    this.directory = Array.from({ length: opts.directorySize ?? 20000 }, () => randomHex(32));
    this.#now = opts.now ?? Math.floor(Date.now() / 1000);
    this.#finalize = opts.finalize ?? signWithKey;
    this.#spanSeconds = opts.spanSeconds ?? SPAN_SECONDS;
  }

  /** A fresh author with a random key (a random pubkey without one when not signing). */
  newAuthor(): Author {
    if (this.#finalize !== signWithKey) {
      return { sk: new Uint8Array(32), pubkey: randomHex(32) };
    }
    const sk = generateSecretKey();
    return { sk, pubkey: getPublicKey(sk) };
  }

  /** Signs one block of twenty events for `author` (kind mix above), in sending order. */
  authorBlock(author: Author): SignedEvent[] {
    return BLOCK_KINDS.map((kind) => this.sign(author, kind, this.#template(author, kind)));
  }

  /** Signs kind-1 notes tagged `t` (the fanout workload). */
  taggedNotes(author: Author, tag: string, n: number): SignedEvent[] {
    const out: SignedEvent[] = [];
    for (let i = 0; i < n; i++) {
      out.push(this.sign(author, 1, {
        created_at: this.#now,
        tags: [["t", tag], ["p", pick(this.directory)]],
        content: `fanout ${i} ${sentence(4, 12)}`,
      }));
    }
    return out;
  }

  /** Signs one event of `kind` and records notes for later references. */
  sign(
    author: Author,
    kind: number,
    t: { created_at: number; tags: string[][]; content: string },
  ): SignedEvent {
    const started = performance.now();
    const ev = this.#finalize({ kind, ...t }, author);
    this.signMs += performance.now() - started;
    this.signed++;
    if (kind === 1 && this.#notes.length < 5000) {
      this.#notes.push({ id: ev.id, pubkey: ev.pubkey });
    }
    return ev;
  }

  #target(): { id: string; pubkey: string } {
    // Cubing a uniform draw skews toward the oldest notes: a few popular threads get most replies.
    const i = Math.floor(this.#notes.length * Math.random() ** 3);
    return this.#notes[i] ?? { id: randomHex(32), pubkey: pick(this.directory) };
  }

  #template(author: Author, kind: number): {
    created_at: number;
    tags: string[][];
    content: string;
  } {
    const created_at = this.#now - 60 - Math.floor(Math.random() * this.#spanSeconds);
    switch (kind) {
      case 0:
        return {
          created_at,
          tags: [],
          content: JSON.stringify({
            name: `bench-${author.pubkey.slice(0, 8)}`,
            about: sentence(10, 30),
            picture: `https://img.example.com/${author.pubkey.slice(0, 16)}.png`,
            nip05: `${author.pubkey.slice(0, 8)}@example.com`,
          }),
        };
      case 3: {
        const n = 200 + Math.floor(Math.random() * 201);
        const follows = new Set<string>();
        while (follows.size < n) follows.add(pick(this.directory));
        const tags = [...follows].map((pk, i) =>
          i % 4 === 0 ? ["p", pk, "wss://relay.example.com/"] : ["p", pk]
        );
        return { created_at, tags, content: "" };
      }
      case 7: {
        const t = this.#target();
        return {
          created_at,
          tags: [["e", t.id], ["p", t.pubkey]],
          content: pick(["+", "🤙", "❤️"]),
        };
      }
      case 10002: {
        const n = 3 + Math.floor(Math.random() * 6);
        const tags = Array.from({ length: n }, (_, i) => {
          const url = `wss://relay${i}.example${Math.floor(Math.random() * 50)}.com`;
          return i % 3 === 0 ? ["r", url] : ["r", url, i % 3 === 1 ? "read" : "write"];
        });
        return { created_at, tags, content: "" };
      }
      case 30023: {
        const topics = new Set<string>();
        const nt = 2 + Math.floor(Math.random() * 3);
        while (topics.size < nt) topics.add(pick(TOPICS));
        const paragraphs = 4 + Math.floor(Math.random() * 6);
        const content = Array.from({ length: paragraphs }, () => sentence(80, 140)).join("\n\n");
        return {
          created_at,
          tags: [
            ["d", `post-${randomHex(6)}`],
            ["title", sentence(3, 8)],
            ["summary", sentence(10, 20)],
            ["published_at", String(created_at)],
            ...[...topics].map((t) => ["t", t]),
          ],
          content: `# ${sentence(3, 6)}\n\n${content}`,
        };
      }
      default: {
        // kind 1: half replies (e root + p), half top-level notes with mentions or hashtags
        if (Math.random() < 0.5) {
          const t = this.#target();
          return {
            created_at,
            tags: [["e", t.id, "", "root"], ["p", t.pubkey]],
            content: sentence(5, 40),
          };
        }
        const tags: string[][] = [];
        if (Math.random() < 0.5) tags.push(["p", pick(this.directory)]);
        if (Math.random() < 0.3) tags.push(["t", pick(TOPICS)]);
        return { created_at, tags, content: sentence(5, 50) };
      }
    }
  }
}

/** Serializes the `["EVENT", ev]` frame of each event. */
export function prepare(events: SignedEvent[]): PreparedEvent[] {
  return events.map((ev) => ({ id: ev.id, kind: ev.kind, frame: JSON.stringify(["EVENT", ev]) }));
}
