/**
 * The Authorize processor (NIP-42 AUTH and fast auth): verifies the signature of a kind-22242
 * event whose other checks (challenge or fast-auth rules, relay tag, created_at window, id) the
 * web process already made, computes the auth level of its pubkey and answers `auth` on the
 * connection's channel. The web process records the connection's state from that answer.
 *
 * Also `authLevels`, the level rules shared with RecomputeLevels and the admin service layer.
 *
 * @module
 */
import { UnrecoverableError } from "bullmq";
import { type AuthorizeJob, LEVELS, type ReplyHeader } from "../lib/contract.ts";
import type { Sql } from "../lib/db.ts";
import { errorText } from "../lib/log.ts";
import { rawId, verifySignature } from "../lib/nostr/event.ts";
import { type JobLike, type ProcessorDeps, withDeadline } from "./deps.ts";
import { parseEventJson } from "./event_rules.ts";
import { publishReply } from "./replies.ts";

/** The kind of NIP-42 auth events. */
export const AUTH_KIND = 22242;

/** Reasons of a refused Authorize job. */
export const AUTH_REASONS = {
  badSignature: "invalid: bad signature",
  wrongKind: `invalid: auth events must be of kind ${AUTH_KIND}`,
  failed: "error: could not authorize, try again",
} as const;

const PUBKEY = /^[0-9a-fA-F]{64}$/;

/**
 * The auth level of each pubkey, from PostgreSQL in one query; the first rule that holds wins:
 * 4 trusted (in `trusted_authors`); 3 subscriber (an active `author_subscriptions` row, or linked
 * to a confirmed user who has any linked pubkey with one); 2 registered (linked to a confirmed
 * user); 1 authenticated (anything else, including pubkeys never seen). Pubkeys are hex, in
 * either case; the map has one entry per distinct input string, as given.
 * @throws {RangeError} when a pubkey is not 64 hex characters
 * @example
 * const levels = await authLevels(sql, [pubkey]);
 * levels.get(pubkey); // 1..4
 */
export async function authLevels(sql: Sql, pubkeys: string[]): Promise<Map<string, number>> {
  for (const p of pubkeys) {
    if (typeof p !== "string" || !PUBKEY.test(p)) {
      throw new RangeError(`Cannot compute auth levels: ${JSON.stringify(p)} is not a pubkey`);
    }
  }
  const out = new Map<string, number>();
  if (!pubkeys.length) return out;
  const wanted = [...new Set(pubkeys.map((p) => p.toLowerCase()))];
  const rows = await sql<{ pubkey: string; level: number }[]>`
    with wanted (pubkey) as (select decode(unnest(${wanted}::text[]), 'hex'))
    select encode(w.pubkey, 'hex') as pubkey, case
      when exists (select 1 from trusted_authors t where t.author_id = a.id)
        then ${LEVELS.trusted}::int
      when exists (select 1 from author_subscriptions s
          where s.author_id = a.id and s.expires_at > now())
        or exists (select 1 from user_pubkeys up
          join users u on u.id = up.user_id and u.confirmed_at is not null
          join user_pubkeys sibling on sibling.user_id = u.id
          join author_subscriptions s on s.author_id = sibling.author_id and s.expires_at > now()
          where up.author_id = a.id)
        then ${LEVELS.subscriber}::int
      when exists (select 1 from user_pubkeys up
          join users u on u.id = up.user_id and u.confirmed_at is not null
          where up.author_id = a.id)
        then ${LEVELS.registered}::int
      else ${LEVELS.authenticated}::int
    end as level
    from wanted w left join authors a on a.pubkey = w.pubkey`;
  const byKey = new Map(rows.map((r) => [r.pubkey, r.level]));
  for (const p of pubkeys) out.set(p, byKey.get(p.toLowerCase()) ?? LEVELS.authenticated);
  return out;
}

/** The `auth` answer of an Authorize job. */
export type AuthReply = Extract<ReplyHeader, { op: "auth" }>;

/** The pubkey of an event that failed parsing, when it has a readable one. */
function pubkeyOf(json: string): string {
  try {
    const pubkey = (JSON.parse(json) as { pubkey?: unknown }).pubkey;
    return typeof pubkey === "string" && /^[0-9a-f]{64}$/.test(pubkey) ? pubkey : "";
  } catch {
    return "";
  }
}

/**
 * Processes one Authorize job; returns the `auth` reply it published. Safe to retry (it only
 * reads and publishes).
 * @throws {UnrecoverableError} when the event has no readable id (nothing to answer), or after
 * answering `error:` when PostgreSQL failed or did not answer within QUERY_TIMEOUT_MS
 */
export async function authorize(
  job: JobLike<AuthorizeJob>,
  deps: ProcessorDeps,
): Promise<AuthReply> {
  const { cid, event: json } = job.data;
  async function answer(reply: Omit<AuthReply, "op">): Promise<AuthReply> {
    const header: AuthReply = { op: "auth", ...reply };
    await publishReply(deps, cid, header);
    return header;
  }
  const parsed = parseEventJson(json);
  if (!parsed.ok) {
    const id = typeof json === "string" ? rawId(json) : "";
    if (!/^[0-9a-f]{64}$/.test(id)) {
      throw new UnrecoverableError(`Cannot authorize: ${parsed.reason} (no id to answer)`);
    }
    const pubkey = pubkeyOf(json);
    return await answer({ eventId: id, pubkey, ok: false, level: 0, reason: parsed.reason });
  }
  const e = parsed.event;
  const refused = { eventId: e.id, pubkey: e.pubkey, ok: false, level: LEVELS.anonymous };
  if (e.kind !== AUTH_KIND) return await answer({ ...refused, reason: AUTH_REASONS.wrongKind });
  if (!verifySignature(e)) return await answer({ ...refused, reason: AUTH_REASONS.badSignature });
  let level: number;
  try {
    const levels = await withDeadline(
      authLevels(deps.sql, [e.pubkey]),
      deps.config.queryTimeoutMs,
      "compute auth level",
    );
    level = levels.get(e.pubkey) ?? LEVELS.authenticated;
  } catch (err) {
    deps.log.error("Cannot compute auth level", { cid, pubkey: e.pubkey, error: errorText(err) });
    await answer({ ...refused, reason: AUTH_REASONS.failed });
    throw new UnrecoverableError(`Cannot authorize ${e.pubkey}: ${errorText(err)}`);
  }
  deps.log.debug("authorized", { cid, pubkey: e.pubkey, level });
  return await answer({ eventId: e.id, pubkey: e.pubkey, ok: true, level, reason: "" });
}
