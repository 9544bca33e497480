/**
 * Per-command minimum auth levels (REQUIRED_AUTH_LEVEL_FOR_REQ / _EVENT / _COUNT) with the kinds
 * exempt from them (NIP_65_KINDS_EXEMPT_OF_AUTH, default 10002 relay lists). CLOSE never needs
 * a level (closing is harmless) and AUTH is always allowed.
 *
 * @module
 */
import type { Config } from "../../lib/config.ts";
import type { Filter } from "../../lib/nostr/filter.ts";
import { ACCEPT, type CommandPolicy, reject } from "./verdict.ts";

/** The settings the rule reads. */
export type LevelSettings = Pick<
  Config,
  "requiredLevelReq" | "requiredLevelEvent" | "requiredLevelCount" | "authExemptKinds"
>;

/** Refuses EVENT, REQ and COUNT from connections below the level the command requires. */
export function requiredLevels(settings: LevelSettings): CommandPolicy {
  const exempt = new Set(settings.authExemptKinds);
  function exemptFilters(filters: readonly Filter[]): boolean {
    return filters.every((f) => f.kinds !== undefined && f.kinds.every((k) => exempt.has(k)));
  }
  return function requiredLevelsPolicy(msg, conn) {
    let required: number;
    switch (msg.type) {
      case "EVENT":
        required = exempt.has(msg.event.kind) ? 0 : settings.requiredLevelEvent;
        break;
      case "REQ":
        required = settings.requiredLevelReq;
        if (required && exemptFilters(msg.filters)) required = 0;
        break;
      case "COUNT":
        required = settings.requiredLevelCount;
        if (required && exemptFilters(msg.filters)) required = 0;
        break;
      default:
        return ACCEPT;
    }
    if (conn.level >= required) return ACCEPT;
    if (conn.authed.length === 0) {
      return reject("auth-required", `this relay requires authentication for ${msg.type}`);
    }
    return reject(
      "restricted",
      `your account does not have the required authorization level (${required})`,
    );
  };
}
