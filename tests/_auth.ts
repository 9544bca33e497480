/** Helpers for access-control tests: AUTH events, fast-auth URLs, level changes. */
import { Queue } from "bullmq";
import { JOBS, QUEUES, type RecomputeLevelsJob } from "../lib/contract.ts";
import type { NostrEvent } from "../lib/nostr/event.ts";
import { connectRedis } from "../lib/redis.ts";
import type { RelayFixture } from "./_harness.ts";
import type { Signer, TestClient } from "./_client.ts";

/** The relay URL the access-control fixtures are configured with. */
export const RELAY_URL = "wss://relay.test";

/** The connection's challenge: the relay's ["AUTH", challenge], waited for if not yet received. */
export async function challengeOf(c: TestClient): Promise<string> {
  const sent = c.frames.find((f) => f[0] === "AUTH");
  if (sent) return sent[1];
  const [, challenge] = await c.next((f) => f[0] === "AUTH");
  return challenge;
}

/** A kind-22242 event for `challenge` (overrides replace the defaults). */
export function authEvent(
  who: Signer,
  challenge: string,
  over: { relay?: string; kind?: number; created_at?: number } = {},
): NostrEvent {
  return who.sign({
    kind: over.kind ?? 22242,
    created_at: over.created_at ?? Math.floor(Date.now() / 1000),
    tags: [["relay", over.relay ?? RELAY_URL], ["challenge", challenge]],
  });
}

/** Authenticates `who` on `c` (NIP-42) and returns the OK frame. */
export async function authenticate(c: TestClient, who: Signer) {
  const challenge = await challengeOf(c);
  const e = authEvent(who, challenge);
  c.send(["AUTH", e]);
  return await c.ok(e.id);
}

/** A websocket URL carrying a fast-auth event for `who`. */
export function fastAuthUrl(relay: RelayFixture, who: Signer, event?: NostrEvent): string {
  const e = event ?? who.sign({
    kind: 22242,
    created_at: Math.floor(Date.now() / 1000),
    tags: [["relay", RELAY_URL]],
    // Distinct ids for tokens made within one second: each token is single-use.
    content: crypto.randomUUID(),
  });
  return `${relay.url}/?authorization=${encodeURIComponent(JSON.stringify(e))}`;
}

/** Adds `pubkey` to an accounts table through SQL, as the admin service will. */
export async function grant(
  relay: RelayFixture,
  what: "trusted" | "subscriber" | "registered",
  pubkey: string,
): Promise<void> {
  const { sql } = relay;
  const [author] = await sql`insert into authors (pubkey) values (decode(${pubkey}, 'hex'))
    on conflict (pubkey) do update set pubkey = excluded.pubkey returning id`;
  const id = author!.id;
  if (what === "trusted") {
    await sql`insert into trusted_authors (author_id) values (${id}) on conflict do nothing`;
  } else if (what === "subscriber") {
    await sql`insert into author_subscriptions (author_id, expires_at)
      values (${id}, now() + interval '30 days') on conflict (author_id) do update
      set expires_at = excluded.expires_at`;
  } else {
    const [user] = await sql`insert into users (email, password_hash, confirmed_at)
      values (${`${pubkey.slice(0, 12)}@example.test`}, 'x', now()) returning id`;
    await sql`insert into user_pubkeys (author_id, user_id) values (${id}, ${user!.id})`;
  }
}

/** Asks the workers to re-compute the levels of `pubkeys` on live connections. */
export async function recomputeLevels(relay: RelayFixture, pubkeys: string[]): Promise<void> {
  const connection = connectRedis(relay.config.redisUrl, { forBullmq: true });
  const queue = new Queue<RecomputeLevelsJob>(QUEUES.auth, {
    connection,
    prefix: relay.keys.bullPrefix,
  });
  try {
    await queue.add(JOBS.recomputeLevels, { pubkeys }, { removeOnComplete: true });
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Polls a Redis read until `pred` holds (bounded), returning the last value. */
export async function waitForRedis<T>(
  read: () => Promise<T>,
  pred: (v: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await read();
  while (!pred(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    v = await read();
  }
  return v;
}
