/**
 * Gatekeeping: the rules that decide, in the web process and before anything is enqueued,
 * whether a connection may open and whether each of its messages may proceed. Each rule is a
 * small function with its test beside it; for messages the first refusal wins.
 *
 * Connection rules: `admission` (blocked IPs, maintenance, max connections), `fastAuthAtConnect` (forced
 * fast auth), `clientIp` (which IP the rate limit counts). Message rules, in order: the rate
 * limit (asynchronous, applied by the connection to every frame), then `defaultPolicies`.
 *
 * @module
 */
import type { Config } from "../../lib/config.ts";
import { type ClientMessage, closedFrame, noticeFrame, okFrame } from "../messages.ts";
import { requiredLevels } from "./auth_level.ts";
import { dmPrivacy } from "./dm_privacy.ts";
import { protectedEvents } from "./protected_events.ts";
import { ACCEPT, type CommandPolicy, type PolicyConnection, type Verdict } from "./verdict.ts";

export {
  admission,
  type AdmissionState,
  BLOCKED,
  BUSY,
  MAINTENANCE,
  readAdmission,
} from "./admission.ts";
export { AUTH_KIND, checkAuthEvent, pubkeyChange } from "./auth_event.ts";
export { requiredLevels } from "./auth_level.ts";
export { clientIp } from "./client_ip.ts";
export { DM_KINDS, dmPrivacy, dmVisibleTo, isDirectMessageKind } from "./dm_privacy.ts";
export {
  belowForcedLevel,
  FAST_AUTH_MISSING,
  type FastAuth,
  fastAuthAtConnect,
  fastAuthErrors,
  parseFastAuth,
  usedTwice,
} from "./fast_auth.ts";
export { protectedEvents } from "./protected_events.ts";
export { createRateLimiter, type RateLimiter, rateLimitReason } from "./rate_limit.ts";
export { sameRelay } from "./relay_url.ts";
export {
  ACCEPT,
  type CloseVerdict,
  type CommandPolicy,
  type PolicyConnection,
  reject,
  type Verdict,
} from "./verdict.ts";

/** The message rules of a relay running `config`, in the order they are applied. */
export function defaultPolicies(
  config: Pick<
    Config,
    | "requiredLevelReq"
    | "requiredLevelEvent"
    | "requiredLevelCount"
    | "authExemptKinds"
    | "dmPrivacy"
  >,
): CommandPolicy[] {
  const list = [requiredLevels(config)];
  if (config.dmPrivacy) list.push(dmPrivacy());
  list.push(protectedEvents());
  return list;
}

/** The first refusal of `policies` for `msg`, or ACCEPT. */
export function firstRefusal(
  policies: readonly CommandPolicy[],
  msg: ClientMessage,
  conn: PolicyConnection,
): Verdict {
  for (const policy of policies) {
    const verdict = policy(msg, conn);
    if (!verdict.ok) return verdict;
  }
  return ACCEPT;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The frame refusing `msg` with `reason`: OK false for EVENT and AUTH (AUTH is always answered
 * with OK), CLOSED for REQ and COUNT, NOTICE otherwise (CLOSE, or a frame that did not parse).
 */
export function refusalFrame(msg: ClientMessage | undefined, reason: string): string {
  switch (msg?.type) {
    case "EVENT":
      return okFrame(msg.event.id, false, reason);
    case "AUTH": {
      const id = msg.event.id;
      return okFrame(typeof id === "string" && HEX64.test(id) ? id : "", false, reason);
    }
    case "REQ":
    case "COUNT":
      return closedFrame(msg.sid, reason);
    default:
      return noticeFrame(reason);
  }
}
