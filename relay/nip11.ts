/**
 * The NIP-11 relay information document, built from the running config: what it says about
 * limits and supported NIPs is what the relay actually enforces.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import { errorText, type Logger } from "../lib/log.ts";
import { MAX_SUBID_LENGTH } from "./messages.ts";

/**
 * Homepage of the relay software (NIP-11 `software` MUST be a URL). Empty = the field is omitted.
 * TODO(#2): set to the project's public repository URL once it has one.
 */
export const SOFTWARE_URL: string = "";

/** Version string published in NIP-11 `version`. */
export const VERSION = "0.1.0";

/** The settings the document is built from. */
export type Nip11Config =
  & Pick<
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
  >
  & Partial<Pick<Config, "nip86Enabled">>;

/**
 * NIP-11 fields an admin overrides at runtime (services/moderation.ts, NIP-86 `changerelay*`):
 * a present field replaces the configured one, an empty string hides it.
 */
export interface Nip11Overrides {
  name?: string;
  description?: string;
  icon?: string;
}

/**
 * The NIPs this relay implements with `config`. Add a line here when a NIP becomes available;
 * never 43 (that number names another NIP than the original's "fast auth", which the relay
 * supports without advertising it).
 */
export function supportedNips(
  config: Pick<Config, "minPow"> & Partial<Pick<Config, "nip86Enabled">>,
): number[] {
  const nips = [1, 9, 11, 40, 42, 45, 50, 70];
  if (config.minPow > 0) nips.push(13);
  if (config.nip86Enabled) nips.push(86);
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
export function nip11Document(
  config: Nip11Config,
  overrides: Nip11Overrides = {},
): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  function optional(key: string, value: string | readonly string[]) {
    if (value.length > 0) doc[key] = value;
  }
  optional("name", overrides.name ?? config.relayName);
  optional("description", overrides.description ?? config.relayDescription);
  optional("pubkey", config.relayPubkey);
  optional("contact", config.relayContact);
  optional("icon", overrides.icon ?? config.relayIcon);
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

/** The NIP-11 document with the admin's overrides, cached for a short while. */
export interface Nip11Source {
  /** The document as JSON. */
  json(): Promise<string>;
  /** Forgets the cached document (after a change made by this process). */
  invalidate(): void;
}

/** How long a document with overrides is reused (changes from other processes show after it). */
export const NIP11_CACHE_MS = 1000;

/**
 * A NIP-11 source reading the overrides with `read` (services/moderation.ts `getRelayInfo`) at
 * most once per `ttlMs`; when they cannot be read, the configured document is served.
 */
export function nip11Source(
  config: Nip11Config,
  read: () => Promise<Nip11Overrides>,
  options: { ttlMs?: number; log?: Logger } = {},
): Nip11Source {
  const ttl = options.ttlMs ?? NIP11_CACHE_MS;
  const plain = JSON.stringify(nip11Document(config));
  let cached: { json: string; at: number } | undefined;
  let pending: Promise<string> | undefined;
  let warned = 0;
  async function build(): Promise<string> {
    try {
      const json = JSON.stringify(nip11Document(config, await read()));
      cached = { json, at: Date.now() };
      return json;
    } catch (err) {
      if (Date.now() - warned > 10_000) {
        warned = Date.now();
        options.log?.warn("Cannot read NIP-11 overrides", { error: errorText(err) });
      }
      return cached?.json ?? plain;
    } finally {
      pending = undefined;
    }
  }
  return {
    json() {
      if (cached && Date.now() - cached.at < ttl) return Promise.resolve(cached.json);
      return pending ??= build();
    },
    invalidate() {
      cached = undefined;
    },
  };
}
