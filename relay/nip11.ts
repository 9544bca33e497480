/**
 * The NIP-11 relay information document, built from the running config: what it says about
 * limits and supported NIPs is what the relay actually enforces.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import { MAX_SUBID_LENGTH } from "./messages.ts";

/**
 * Homepage of the relay software (NIP-11 `software` MUST be a URL). Empty = the field is omitted.
 * TODO(#2): set to the project's public repository URL once it has one.
 */
export const SOFTWARE_URL: string = "";

/** Version string published in NIP-11 `version`. */
export const VERSION = "0.1.0";

/** The settings the document is built from. */
export type Nip11Config = Pick<
  Config,
  | "relayName"
  | "relayDescription"
  | "relayPubkey"
  | "relayContact"
  | "relayIcon"
  | "postingPolicy"
  | "relayCountries"
  | "languageTags"
  | "relayTags"
  | "maxMessageLength"
  | "maxSubscriptions"
  | "maxFilters"
  | "maxLimit"
  | "maxEventTags"
  | "maxContentLength"
  | "minPow"
  | "createdAtLowerLimit"
  | "createdAtUpperLimit"
  | "defaultLimit"
  | "forcedMinAuthLevel"
  | "requiredLevelReq"
  | "requiredLevelEvent"
  | "requiredLevelCount"
>;

/**
 * The NIPs this relay implements with `config`. Add a line here when a NIP becomes available
 * (86 management API); never 43 (that number names another NIP than the original's "fast
 * auth", which the relay supports without advertising it).
 */
export function supportedNips(config: Pick<Config, "minPow">): number[] {
  const nips = [1, 9, 11, 40, 42, 45, 50, 70];
  if (config.minPow > 0) nips.push(13);
  return nips.sort((a, b) => a - b);
}

/**
 * Level 3 is an active paid subscription: a relay that requires it anywhere (or forces it at
 * connect) requires payment.
 */
function paymentRequired(config: Nip11Config): boolean {
  return [
    config.forcedMinAuthLevel,
    config.requiredLevelReq,
    config.requiredLevelEvent,
    config.requiredLevelCount,
  ].some((level) => level > 2);
}

/** The NIP-11 document as a plain object ready for JSON.stringify. */
export function nip11Document(config: Nip11Config): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  function optional(key: string, value: string | readonly string[]) {
    if (value.length > 0) doc[key] = value;
  }
  optional("name", config.relayName);
  optional("description", config.relayDescription);
  optional("pubkey", config.relayPubkey);
  optional("contact", config.relayContact);
  optional("icon", config.relayIcon);
  optional("posting_policy", config.postingPolicy);
  optional("relay_countries", config.relayCountries);
  optional("language_tags", config.languageTags);
  optional("tags", config.relayTags);
  doc.supported_nips = supportedNips(config);
  optional("software", SOFTWARE_URL);
  doc.version = VERSION;
  const limitation: Record<string, number | boolean> = {
    max_message_length: config.maxMessageLength,
    max_subscriptions: config.maxSubscriptions,
    max_filters: config.maxFilters,
    max_limit: config.maxLimit,
    max_subid_length: MAX_SUBID_LENGTH,
    max_event_tags: config.maxEventTags,
    max_content_length: config.maxContentLength,
    min_pow_difficulty: config.minPow,
    auth_required: config.forcedMinAuthLevel > 0 || config.requiredLevelReq > 0,
    payment_required: paymentRequired(config),
    restricted_writes: config.requiredLevelEvent > 0 || config.minPow > 0,
  };
  if (config.createdAtLowerLimit > 0) {
    limitation.created_at_lower_limit = config.createdAtLowerLimit;
  }
  if (config.createdAtUpperLimit > 0) {
    limitation.created_at_upper_limit = config.createdAtUpperLimit;
  }
  limitation.default_limit = config.defaultLimit;
  doc.limitation = limitation;
  return doc;
}
