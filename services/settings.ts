/**
 * Settings: the hot ones an admin changes at runtime (Redis keys of lib/contract.ts, read by the
 * web process at every connect) and the boot ones (SETTINGS in lib/config.ts), shown read-only
 * with their source, secrets masked.
 *
 * @module
 */
import { type Config, SETTINGS } from "../lib/config.ts";
import { parseIp } from "./_input.ts";
import { type ServiceDeps, ServiceError } from "./deps.ts";

/** The hot settings. */
export interface HotSettings {
  /** New connections are refused (close 3503) while on. */
  maintenance: boolean;
  /** Live connections allowed over all web processes; 0 = unlimited. */
  maxAllowedConnections: number;
  /** IPs exempt from the rate limit, sorted. */
  unlimitedIps: string[];
}

/** Names of the hot settings as the original's configuration page posts them. */
export const HOT_SETTINGS = ["maintenance", "max_allowed_connections", "unlimited_ips"] as const;
/** A hot setting name. */
export type HotSettingName = typeof HOT_SETTINGS[number];

/** Reads the hot settings in one round trip. */
export async function getHotSettings(deps: ServiceDeps): Promise<HotSettings> {
  const k = deps.keys;
  const replies = (await deps.redis.pipeline()
    .get(k.maintenance)
    .get(k.maxAllowedConnections)
    .smembers(k.unlimitedIps)
    .exec()) ?? [];
  const [maintenance, max, ips] = replies.map(([err, v]) => {
    if (err) throw new Error(`Cannot read hot settings: ${err.message}`);
    return v;
  });
  const n = Number(max ?? 0);
  return {
    maintenance: maintenance === "1",
    maxAllowedConnections: Number.isInteger(n) && n > 0 ? n : 0,
    unlimitedIps: (ips as string[]).sort(),
  };
}

/** Turns maintenance on (new connections refused) or off. */
export async function setMaintenance(deps: ServiceDeps, on: boolean): Promise<void> {
  if (typeof on !== "boolean") {
    throw new ServiceError("invalid", "Cannot set maintenance: expected true or false");
  }
  if (on) await deps.redis.set(deps.keys.maintenance, "1");
  else await deps.redis.del(deps.keys.maintenance);
}

/** Sets the maximum of live connections (0 = unlimited). */
export async function setMaxAllowedConnections(deps: ServiceDeps, max: number): Promise<void> {
  if (typeof max !== "number" || !Number.isInteger(max) || max < 0 || max > 10_000_000) {
    throw new ServiceError(
      "invalid",
      `Cannot set max_allowed_connections: ${
        JSON.stringify(max)
      } is not a whole number 0..10000000`,
    );
  }
  if (max === 0) await deps.redis.del(deps.keys.maxAllowedConnections);
  else await deps.redis.set(deps.keys.maxAllowedConnections, String(max));
}

/** Splits a list typed by an admin (spaces, commas or new lines). */
function words(input: string | readonly string[]): string[] {
  const list = typeof input === "string" ? input.split(/[\s,]+/) : [...input];
  return list.map((s) => s.trim()).filter(Boolean);
}

/** Replaces the whole set of unlimited IPs (a list, or a string of IPs separated by spaces). */
export async function setUnlimitedIps(
  deps: ServiceDeps,
  ips: string | readonly string[],
): Promise<string[]> {
  const list = [...new Set(words(ips).map((ip) => parseIp(ip, "set unlimited_ips")))].sort();
  const k = deps.keys.unlimitedIps;
  const tx = deps.redis.multi().del(k);
  if (list.length) tx.sadd(k, ...list);
  const results = (await tx.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw new Error(`Cannot set unlimited_ips: ${failed[0]!.message}`);
  return list;
}

/** Adds one IP to the unlimited IPs. */
export async function addUnlimitedIp(deps: ServiceDeps, ip: string): Promise<void> {
  await deps.redis.sadd(deps.keys.unlimitedIps, parseIp(ip, "add unlimited IP"));
}

/** Removes one IP from the unlimited IPs. */
export async function removeUnlimitedIp(deps: ServiceDeps, ip: string): Promise<void> {
  await deps.redis.srem(deps.keys.unlimitedIps, parseIp(ip, "remove unlimited IP"));
}

/**
 * Sets a hot setting from the string a form posts (`maintenance`: true/false/1/0/on/off;
 * `max_allowed_connections`: a whole number, empty = 0; `unlimited_ips`: IPs separated by
 * spaces, replacing the set). Returns the hot settings after the change.
 */
export async function setHotSetting(
  deps: ServiceDeps,
  name: string,
  value: string,
): Promise<HotSettings> {
  const v = String(value ?? "").trim();
  switch (name) {
    case "maintenance": {
      const s = v.toLowerCase();
      if (["1", "true", "on", "yes"].includes(s)) await setMaintenance(deps, true);
      else if (["0", "false", "off", "no", ""].includes(s)) await setMaintenance(deps, false);
      else throw new ServiceError("invalid", `Cannot set maintenance: "${v}" is not on or off`);
      break;
    }
    case "max_allowed_connections":
      if (!/^\d*$/.test(v)) {
        throw new ServiceError(
          "invalid",
          `Cannot set max_allowed_connections: "${v}" is not a whole number`,
        );
      }
      await setMaxAllowedConnections(deps, v === "" ? 0 : Number(v));
      break;
    case "unlimited_ips":
      await setUnlimitedIps(deps, v);
      break;
    default:
      throw new ServiceError("invalid", `Cannot set ${JSON.stringify(name)}: not a hot setting`);
  }
  return await getHotSettings(deps);
}

/** One boot setting as the configuration page shows it. */
export interface BootSetting {
  /** Key in Config / SETTINGS. */
  key: string;
  /** Environment variables read, first found wins. */
  env: readonly string[];
  /** The value in use, formatted (lists space separated), secrets masked. */
  value: string;
  /** The variable it came from, "POSTGRES_*", or "default". */
  source: string;
  /** The default, as a string (secrets masked). */
  default: string;
  description: string;
  restartRequired: boolean;
  secret: boolean;
}

/** What a masked secret shows. */
export const MASK = "********";

/** `url` with its password replaced by MASK (unparsable URLs are masked whole). */
export function maskUrlPassword(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = MASK;
    return u.toString();
  } catch {
    return MASK;
  }
}

function display(value: unknown): string {
  if (Array.isArray(value)) return value.join(" ");
  return String(value ?? "");
}

/** Every boot setting of `config` with its source; secrets and URL passwords masked. */
export function bootSettings(config: Config): BootSetting[] {
  const out: BootSetting[] = [];
  for (const [key, s] of Object.entries(SETTINGS)) {
    const setting = s as {
      env: string[];
      default: string;
      desc: string;
      restartRequired?: boolean;
      secret?: boolean;
    };
    const raw = display((config as unknown as Record<string, unknown>)[key]);
    const secret = setting.secret === true;
    const value = secret ? (raw ? MASK : "") : maskUrlPassword(raw);
    out.push({
      key,
      env: setting.env,
      value,
      source: config.sources[key as keyof typeof config.sources] ?? "default",
      default: secret && setting.default ? MASK : setting.default,
      description: setting.desc,
      restartRequired: setting.restartRequired !== false,
      secret,
    });
  }
  return out;
}
