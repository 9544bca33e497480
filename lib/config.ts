/**
 * The only module that reads the environment. Each setting names the variable(s) it is read
 * from (the original Saltivka names are accepted where one existed), a zod schema, a default and
 * a description; `loadConfig()` validates them all and reports every bad value at once.
 *
 * @module
 */
import { z } from "zod";
import { LEVELS } from "./log.ts";

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max);
const bool = z.string().transform((v, ctx) => {
  const s = v.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(s)) return true;
  if (["0", "false", "no", "off"].includes(s)) return false;
  ctx.addIssue({ code: "custom", message: `expected true or false, got "${v}"` });
  return z.NEVER;
});
const level = int(0, 4);
const words = z.string().transform((s) => s.split(/[\s,]+/).filter(Boolean));
const kindList = z.string().transform((s, ctx) => {
  const out: number[] = [];
  for (const w of s.split(/[\s,]+/).filter(Boolean)) {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      ctx.addIssue({ code: "custom", message: `"${w}" is not a kind (0..65535)` });
      return z.NEVER;
    }
    out.push(n);
  }
  return out;
});
const wsUrl = z.string().refine(
  (s) => /^wss?:\/\/[^\s/]+/.test(s),
  "expected a ws:// or wss:// URL",
);

interface Setting<T extends z.ZodType> {
  /** Environment variables, first found wins (our name first, then the original's). */
  env: string[];
  schema: T;
  default: string;
  desc: string;
  /** Settings read once at start; hot ones live in Redis and are edited from the admin UI. */
  restartRequired?: boolean;
  /** The value is a secret: shown masked by the admin configuration table. */
  secret?: boolean;
}

function setting<T extends z.ZodType>(s: Setting<T>): Setting<T> {
  return { restartRequired: true, ...s };
}

/** Every boot setting: the table the admin configuration page shows read-only. */
export const SETTINGS = {
  port: setting({
    env: ["PORT"],
    schema: int(0, 65535),
    default: "3000",
    desc: "HTTP/WebSocket port of the web process",
  }),
  hostname: setting({
    env: ["HOST"],
    schema: z.string(),
    default: "0.0.0.0",
    desc: "Interface the web process listens on",
  }),
  databaseUrl: setting({
    env: ["DATABASE_URL"],
    schema: z.string(),
    default: "",
    desc:
      "PostgreSQL URL; when empty it is built from POSTGRES_* (user, password, host, port, database)",
  }),
  databasePool: setting({
    env: ["DATABASE_POOL", "POSTGRES_POOL"],
    schema: int(1, 500),
    default: "10",
    desc: "PostgreSQL connections per process",
  }),
  redisUrl: setting({
    env: ["REDIS_URL"],
    schema: z.string(),
    default: "redis://127.0.0.1:6379",
    desc: "Redis URL (state, queues, pub/sub)",
  }),
  redisPrefix: setting({
    env: ["REDIS_PREFIX"],
    // braces: a Redis Cluster hash tag such as {nostr}: keeps BullMQ's keys in one slot
    schema: z.string().regex(/^[A-Za-z0-9_.:{}-]*$/),
    default: "",
    desc:
      "Prefix for every Redis key, channel and queue (lets several relays or test runs share one Redis)",
  }),
  relayUrl: setting({
    env: ["RELAY_URL", "NIP_42_43_SELF_URL"],
    schema: wsUrl,
    default: "ws://localhost:3000",
    desc: "Public websocket URL of the relay (NIP-11, NIP-42 relay tag)",
  }),
  logLevel: setting({
    env: ["LOG_LEVEL"],
    schema: z.enum(LEVELS),
    default: "info",
    desc: "debug, info, warn or error",
  }),

  relayName: setting({
    env: ["NIP_11_RELAY_NAME"],
    schema: z.string(),
    default: "",
    desc: "NIP-11 name",
  }),
  relayDescription: setting({
    env: ["NIP_11_RELAY_DESCRIPTION"],
    schema: z.string(),
    default: "",
    desc: "NIP-11 description",
  }),
  relayPubkey: setting({
    env: ["NIP_11_RELAY_PUBKEY"],
    schema: z.string().regex(/^([0-9a-f]{64})?$/, "expected 64 lowercase hex chars"),
    default: "",
    desc: "NIP-11 pubkey of the operator",
  }),
  relayContact: setting({
    env: ["NIP_11_RELAY_CONTACT"],
    schema: z.string(),
    default: "",
    desc: "NIP-11 contact",
  }),
  relayIcon: setting({
    env: ["NIP_11_RELAY_ICON"],
    schema: z.string(),
    default: "",
    desc: "NIP-11 icon URL",
  }),
  postingPolicy: setting({
    env: ["NIP_11_POSTING_POLICY"],
    schema: z.string(),
    default: "",
    desc: "NIP-11 posting_policy URL",
  }),
  relayCountries: setting({
    env: ["NIP_11_RELAY_COUNTRIES"],
    schema: words,
    default: "",
    desc: "NIP-11 relay_countries, space separated",
  }),
  languageTags: setting({
    env: ["NIP_11_LANGUAGE_TAGS"],
    schema: words,
    default: "",
    desc: "NIP-11 language_tags, space separated",
  }),
  relayTags: setting({
    env: ["NIP_11_TAGS"],
    schema: words,
    default: "",
    desc: "NIP-11 tags, space separated",
  }),

  maxSubscriptions: setting({
    env: ["NIP_11_MAX_SUBSCRIPTIONS"],
    schema: int(1, 10000),
    default: "20",
    desc: "Open subscriptions per connection",
  }),
  maxFilters: setting({
    env: ["NIP_11_MAX_FILTERS"],
    schema: int(1, 1000),
    default: "100",
    desc: "Filters per REQ or COUNT",
  }),
  maxEventTags: setting({
    env: ["NIP_11_MAX_EVENT_TAGS"],
    schema: int(1, 100000),
    default: "2500",
    desc: "Tags per event",
  }),
  maxContentLength: setting({
    env: ["NIP_11_MAX_CONTENT_LENGTH"],
    schema: int(1),
    default: "65536",
    desc: "Characters of event content",
  }),
  maxMessageLength: setting({
    env: ["NIP_11_MAX_MESSAGE_LENGTH"],
    schema: int(256),
    default: "262144",
    desc: "Bytes of one websocket message",
  }),
  maxLimit: setting({
    env: ["NIP_11_MAX_FILTER_LIMIT"],
    schema: int(1, 100000),
    default: "1000",
    desc: "Cap on a filter's limit",
  }),
  defaultLimit: setting({
    env: ["DEFAULT_FILTER_LIMIT"],
    schema: int(1, 100000),
    default: "500",
    desc: "Limit of a filter that names none",
  }),
  createdAtUpperLimit: setting({
    env: ["CREATED_AT_UPPER_LIMIT"],
    schema: int(0),
    default: "900",
    desc: "Seconds into the future an event's created_at may be (0 = no check)",
  }),
  createdAtLowerLimit: setting({
    env: ["CREATED_AT_LOWER_LIMIT"],
    schema: int(0),
    default: "0",
    desc: "Seconds into the past an event's created_at may be (0 = no check)",
  }),
  minPow: setting({
    env: ["NIP_13_MIN_POW"],
    schema: int(0, 256),
    default: "0",
    desc: "Minimum NIP-13 difficulty (leading zero bits of the id)",
  }),
  searchLanguage: setting({
    env: ["NIP_50_DEFAULT_LANGUAGE"],
    schema: z.string().regex(/^[a-z_]+$/),
    default: "simple",
    desc: "PostgreSQL text search configuration for NIP-50",
  }),
  searchKinds: setting({
    env: ["NIP_50_CONTENT_SEARCHABLE_KINDS"],
    schema: kindList,
    default: "0 1 30023",
    desc: "Kinds indexed for NIP-50 search",
  }),
  countCostThreshold: setting({
    env: ["NIP_45_COUNT_COST_THRESHOLD"],
    schema: int(0),
    default: "0",
    desc:
      "Planner cost above which COUNT answers an estimate with approximate:true (0 = always exact)",
  }),
  queryTimeoutMs: setting({
    env: ["QUERY_TIMEOUT_MS"],
    schema: int(100),
    default: "10000",
    desc: "Statement timeout of one REQ or COUNT query",
  }),
  maxOutgoingBytes: setting({
    env: ["MAX_OUTGOING_BYTES"],
    schema: int(65536),
    default: "8388608",
    desc: "Bytes a slow reader may have buffered before its connection is closed",
  }),
  idleTimeoutSeconds: setting({
    env: ["IDLE_TIMEOUT_SECONDS", "HEARBEAT_INTERVAL"],
    schema: int(0),
    default: "1200",
    desc: "Close a connection silent for this long (0 = never)",
  }),
  forcedMinAuthLevel: setting({
    env: ["FORCED_MIN_AUTH_LEVEL"],
    schema: level,
    default: "0",
    desc: "If > 0, connections must fast-authenticate (?authorization=) with at least this level",
  }),
  requiredLevelReq: setting({
    env: ["REQUIRED_AUTH_LEVEL_FOR_REQ"],
    schema: level,
    default: "0",
    desc: "Minimum auth level for REQ (and CLOSE)",
  }),
  requiredLevelEvent: setting({
    env: ["REQUIRED_AUTH_LEVEL_FOR_EVENT"],
    schema: level,
    default: "0",
    desc: "Minimum auth level for EVENT",
  }),
  requiredLevelCount: setting({
    env: ["REQUIRED_AUTH_LEVEL_FOR_COUNT"],
    schema: level,
    default: "0",
    desc: "Minimum auth level for COUNT",
  }),
  authExemptKinds: setting({
    env: ["NIP_65_KINDS_EXEMPT_OF_AUTH"],
    schema: kindList,
    default: "10002",
    desc:
      "Kinds exempt from the per-command levels (for REQ/COUNT every filter must name only these)",
  }),
  authWindowSeconds: setting({
    env: ["NIP_42_CHALLENGE_WINDOW_SECONDS"],
    schema: int(1),
    default: "600",
    desc: "How far a NIP-42 AUTH event's created_at may be from now",
  }),
  fastAuthWindowSeconds: setting({
    env: ["NIP_43_FAST_AUTH_WINDOW_SECONDS"],
    schema: int(1),
    default: "60",
    desc:
      "How far a fast-auth (?authorization=) event's created_at may be from now; also how long it is remembered as used",
  }),
  restrictChangeAuthPubkey: setting({
    env: ["NIP_42_RESTRICT_CHANGE_AUTH_PUBKEY"],
    schema: bool,
    default: "false",
    desc: "Refuse authenticating a second pubkey on one connection",
  }),
  authorizationTimeoutSeconds: setting({
    env: ["AUTHORIZATION_TIMEOUT"],
    schema: int(1),
    default: "10",
    desc: "How long a forced fast-auth connection waits for its level",
  }),
  dmPrivacy: setting({
    env: ["NIP_04_NIP_42_ENFORCE_KIND_4_AUTHENTICATION"],
    schema: bool,
    default: "true",
    desc: "Serve kind 4 and 1059 only to their authenticated author or p-tagged recipient",
  }),
  rateLimitWindowSeconds: setting({
    env: ["RATE_LIMITING_SLIDING_WINDOW"],
    schema: int(1),
    default: "60",
    desc: "Rate-limit sliding window (seconds)",
  }),
  rateLimitMaxRequests: setting({
    env: ["RATE_LIMITING_MAX_REQUESTS"],
    schema: int(0),
    default: "300",
    desc: "Messages per IP per window (0 = no rate limit)",
  }),
  trustProxyHeader: setting({
    env: ["TRUST_PROXY_HEADER"],
    schema: z.string().regex(/^[A-Za-z0-9-]*$/),
    default: "",
    desc:
      "Header carrying the client IP set by a trusted reverse proxy (e.g. x-forwarded-for); empty = use the socket address",
  }),
  workerConcurrency: setting({
    env: ["WORKER_CONCURRENCY"],
    schema: int(1, 1000),
    default: "16",
    desc: "Jobs a worker process runs at once per queue",
  }),
  workerEventConcurrency: setting({
    env: ["WORKER_EVENT_CONCURRENCY"],
    schema: int(1, 1000),
    // measured (8 x 50 in flight): 16 -> 925, 64 -> 1,190, 128 -> 1,267, 256 -> 1,358,
    // 512 -> 1,350 events/s
    default: "256",
    desc:
      "NewEvent jobs a worker process runs at once (they commit together, see STORE_BATCH_SIZE)",
  }),
  storeBatchSize: setting({
    env: ["STORE_BATCH_SIZE"],
    schema: int(1, 1000),
    default: "100",
    desc: "Most events a worker stores in one transaction (1: one transaction per event)",
  }),
  expirationSweepSeconds: setting({
    env: ["EXPIRATION_SWEEP_SECONDS"],
    schema: int(1),
    default: "60",
    desc: "How often expired (NIP-40) events are purged",
  }),
  adminEmail: setting({
    env: ["ADMIN_EMAIL"],
    schema: z.string().trim().refine((s) => s === "" || /^[^\s@]+@[^\s@]+$/.test(s), {
      message: "expected an email address",
    }),
    default: "",
    desc: "Email of the first admin, created at start when no admin exists (with ADMIN_PASSWORD)",
  }),
  adminPassword: setting({
    env: ["ADMIN_PASSWORD"],
    schema: z.string(),
    default: "",
    desc: "Password of the first admin (ADMIN_EMAIL); used only while no admin exists",
    secret: true,
  }),
  adminPubkeys: setting({
    env: ["ADMIN_PUBKEYS"],
    schema: z.string().transform((s, ctx) => {
      const out: string[] = [];
      for (const w of s.split(/[\s,]+/).filter(Boolean)) {
        if (!/^[0-9a-fA-F]{64}$/.test(w)) {
          ctx.addIssue({ code: "custom", message: `"${w}" is not a 64-hex pubkey` });
          return z.NEVER;
        }
        out.push(w.toLowerCase());
      }
      return out;
    }),
    default: "",
    desc:
      "Pubkeys allowed to call the NIP-86 management API, space separated (besides pubkeys linked to admin users)",
  }),
  nip86Enabled: setting({
    env: ["NIP_86_ENABLED"],
    schema: bool,
    default: "true",
    desc:
      "Serve the NIP-86 relay management API (POST application/nostr+json+rpc on the relay URL)",
  }),
  connectionSweepSeconds: setting({
    env: ["CONNECTION_SWEEP_SECONDS"],
    schema: int(1),
    default: "30",
    desc: "How often the Redis state of connections of dead web processes is removed",
  }),
  nodeSilenceSeconds: setting({
    env: ["NODE_SILENCE_SECONDS"],
    schema: int(6),
    default: "30",
    desc:
      "A web process whose heartbeat (every 5 s) is older than this is dead and its connections are swept (at least 3 sweep intervals)",
  }),
  workerLockDurationMs: setting({
    env: ["WORKER_LOCK_DURATION_MS"],
    schema: int(1000),
    default: "30000",
    desc:
      "BullMQ job lock and stalled-check interval (ms): how soon jobs of a crashed worker run again",
  }),
  metricsPort: setting({
    env: ["METRICS_PORT"],
    schema: int(0, 65535),
    default: "9464",
    desc: "Port of the worker's /metrics and /healthz (0 = off)",
  }),
};

type Settings = typeof SETTINGS;
/** The validated, frozen configuration passed down explicitly. */
export type Config = { readonly [K in keyof Settings]: z.output<Settings[K]["schema"]> } & {
  /** Where each value came from: an env var name or "default". */
  readonly sources: Readonly<Record<keyof Settings, string>>;
};

/** Builds a postgres URL from the original's POSTGRES_* variables. */
function postgresUrl(env: Record<string, string | undefined>): string {
  const user = env.POSTGRES_USER ?? "postgres";
  const pass = env.POSTGRES_PASSWORD ? `:${encodeURIComponent(env.POSTGRES_PASSWORD)}` : "";
  const host = env.POSTGRES_HOST ?? "127.0.0.1";
  const port = env.POSTGRES_PORT ?? "5432";
  const db = env.POSTGRES_DATABASE ?? env.POSTGRES_DB ?? "nostr_relay";
  return `postgres://${encodeURIComponent(user)}${pass}@${host}:${port}/${db}`;
}

/** Thrown by `loadConfig` with one line per bad value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Cannot load configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Reads and validates every setting from `env` (default: the process environment).
 * @throws {ConfigError} listing every invalid value
 */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const out: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(SETTINGS) as [string, Setting<z.ZodType>][]) {
    const name = s.env.find((n) => env[n] !== undefined && env[n] !== "");
    const raw = name ? env[name]! : s.default;
    const parsed = s.schema.safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => i.message).join("; ");
      problems.push(`${name ?? s.env[0]}=${JSON.stringify(raw)}: ${why}`);
      continue;
    }
    out[key] = parsed.data;
    sources[key] = name ?? "default";
  }
  if (!out.databaseUrl) {
    out.databaseUrl = postgresUrl(env);
    if (env.POSTGRES_HOST || env.POSTGRES_DATABASE || env.POSTGRES_USER) {
      sources.databaseUrl = "POSTGRES_*";
    }
  }
  if (problems.length) throw new ConfigError(problems);
  out.sources = Object.freeze(sources);
  return Object.freeze(out) as Config;
}
