/**
 * The RecomputeLevels processor: after an admin changed trust, a subscription or a user link,
 * computes the new level of each pubkey and tells every connection authenticated as it
 * (`pubkeyConnections`) with a `level` reply. Safe to retry: it only reads and publishes the
 * current levels, so BullMQ may retry it when PostgreSQL or Redis failed.
 *
 * @module
 */
import type { RecomputeLevelsJob } from "../lib/contract.ts";
import { authLevels } from "./authorize.ts";
import { type JobLike, type ProcessorDeps, withDeadline } from "./deps.ts";
import { publishReply } from "./replies.ts";

/** Pubkeys whose levels are computed per query (and whose connections are read per pipeline). */
export const RECOMPUTE_BATCH = 500;

/** What a RecomputeLevels job did. */
export interface RecomputeResult {
  /** Distinct valid pubkeys recomputed. */
  pubkeys: number;
  /** `level` replies published (one per pubkey and connection). */
  published: number;
}

/** The distinct pubkeys of a job (lowercased); logs and drops anything else. */
function jobPubkeys(value: unknown, deps: Pick<ProcessorDeps, "log">): string[] {
  const list = Array.isArray(value) ? value : [];
  const bad = list.filter((p) => typeof p !== "string" || !/^[0-9a-fA-F]{64}$/.test(p));
  if (bad.length || !Array.isArray(value)) {
    deps.log.warn("RecomputeLevels job with invalid pubkeys", { invalid: bad.slice(0, 5), value });
  }
  const good = list.filter((p): p is string => !bad.includes(p));
  return [...new Set(good.map((p) => p.toLowerCase()))];
}

/** Processes one RecomputeLevels job. */
export async function recomputeLevels(
  job: JobLike<RecomputeLevelsJob>,
  deps: ProcessorDeps,
): Promise<RecomputeResult> {
  const { redis, keys } = deps;
  const pubkeys = jobPubkeys(job.data.pubkeys, deps);
  let published = 0;
  for (let i = 0; i < pubkeys.length; i += RECOMPUTE_BATCH) {
    const batch = pubkeys.slice(i, i + RECOMPUTE_BATCH);
    const levels = await withDeadline(
      authLevels(deps.sql, batch),
      deps.config.queryTimeoutMs,
      "recompute auth levels",
    );
    const read = redis.pipeline();
    for (const pubkey of batch) read.smembers(keys.pubkeyConnections(pubkey));
    const members = (await read.exec()) ?? [];
    const targets: [cid: string, pubkey: string][] = [];
    batch.forEach((pubkey, j) => {
      const [err, cids] = members[j] ?? [new Error("no reply"), []];
      if (err) throw new Error(`Cannot read connections of ${pubkey}: ${err.message}`);
      for (const cid of cids as string[]) targets.push([cid, pubkey]);
    });
    const publishes = targets.map(([cid, pubkey]) =>
      publishReply(deps, cid, { op: "level", pubkey, level: levels.get(pubkey)! })
    );
    await Promise.all(publishes);
    published += publishes.length;
  }
  if (published) {
    deps.log.info("recomputed auth levels", { pubkeys: pubkeys.length, published });
  }
  return { pubkeys: pubkeys.length, published };
}
