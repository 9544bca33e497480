/**
 * Connection admission, decided before a connection is used from the hot settings an admin
 * edits in Redis (`blocked_ips`, `maintenance`, `max_allowed_connections`, `unlimited_ips`),
 * read afresh at every connect in one pipelined round trip. Existing connections are never
 * affected (blocking an IP closes its live connections through services/moderation.ts).
 *
 * @module
 */
import { BLOCKED_IP_CLOSE, type RedisKeys } from "../../lib/contract.ts";
import type { Redis } from "../../lib/redis.ts";
import type { CloseVerdict } from "./verdict.ts";

/** The hot settings and counts admission looks at. */
export interface AdmissionState {
  /** `maintenance` ("1" = refuse new connections). */
  maintenance: string | null;
  /** `max_allowed_connections` (empty, missing or 0 = unlimited). */
  maxAllowed: string | null;
  /** Live connections of every web process (`SCARD connections`). */
  connections: number;
  /** The client IP is in `unlimited_ips`: no rate limit for this connection. */
  unlimited: boolean;
  /** The client IP is in `blocked_ips` (admin / NIP-86 `blockip`). */
  blocked?: boolean;
}

/** Close of a connection from a blocked IP (3403, `blocked:`), before anything else. */
export const BLOCKED: CloseVerdict = BLOCKED_IP_CLOSE;

/** Close of a connection refused during maintenance. */
export const MAINTENANCE: CloseVerdict = Object.freeze({
  code: 3503,
  reason: "restricted: server is on maintenance, please try again later",
});

/** Close of a connection refused because the relay holds its maximum of connections. */
export const BUSY: CloseVerdict = Object.freeze({
  code: 3503,
  reason: "restricted: server is busy, please try again later",
});

/** The close verdict for a new connection, or undefined when it is admitted. */
export function admission(state: AdmissionState): CloseVerdict | undefined {
  if (state.blocked) return BLOCKED;
  if (state.maintenance === "1") return MAINTENANCE;
  const max = Number(state.maxAllowed ?? 0);
  if (Number.isInteger(max) && max > 0 && state.connections >= max) return BUSY;
  return undefined;
}

/** Reads the admission state for a client at `ip` in one pipelined round trip. */
export async function readAdmission(
  redis: Pick<Redis, "pipeline">,
  keys: RedisKeys,
  ip: string,
): Promise<AdmissionState> {
  const results = await redis.pipeline()
    .get(keys.maintenance)
    .get(keys.maxAllowedConnections)
    .scard(keys.connections)
    .sismember(keys.unlimitedIps, ip)
    .sismember(keys.blockedIps, ip.toLowerCase())
    .exec();
  if (!results) throw new Error("Cannot read admission state: pipeline was discarded");
  const values = results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
  return {
    maintenance: values[0] as string | null,
    maxAllowed: values[1] as string | null,
    connections: Number(values[2]),
    unlimited: Number(values[3]) === 1,
    blocked: Number(values[4]) === 1,
  };
}
