/**
 * Cookies, CSRF and Origin checks of the admin UI.
 *
 * - Session cookie `admin_session`: HttpOnly, SameSite=Lax, Path=/admin, Secure when the request
 *   came over https or the relay's public URL is wss (a TLS-terminating proxy in front).
 * - CSRF: every state-changing request carries the session's token (form field `_csrf` or header
 *   `x-csrf-token`) and, when the browser sends one, an Origin (or Referer) of this site. The
 *   login form, which has no session yet, uses a double-submit cookie `admin_login_csrf`.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";

/** Name of the session cookie. */
export const SESSION_COOKIE = "admin_session";
/** Name of the login form's double-submit CSRF cookie. */
export const LOGIN_CSRF_COOKIE = "admin_login_csrf";

/** Cookies of a request by name. */
export function readCookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq < 1) continue;
    const name = part.slice(0, eq).trim();
    if (!(name in out)) out[name] = part.slice(eq + 1).trim();
  }
  return out;
}

/** True when cookies must be Secure: https request, trusted proxy said https, or a wss relay. */
export function isSecure(req: Request, config: Pick<Config, "relayUrl" | "trustProxyHeader">) {
  if (new URL(req.url).protocol === "https:") return true;
  if (config.trustProxyHeader && req.headers.get("x-forwarded-proto") === "https") return true;
  return config.relayUrl.startsWith("wss:");
}

/** A Set-Cookie value. `maxAge` 0 deletes the cookie. */
export function cookie(
  name: string,
  value: string,
  opts: { secure: boolean; path?: string; maxAge?: number; sameSite?: "Lax" | "Strict" },
): string {
  const parts = [
    `${name}=${value}`,
    `Path=${opts.path ?? "/admin"}`,
    "HttpOnly",
    `SameSite=${opts.sameSite ?? "Lax"}`,
  ];
  if (opts.maxAge !== undefined) parts.push(`Max-Age=${opts.maxAge}`);
  if (opts.secure) parts.push("Secure");
  return parts.join("; ");
}

/** Compares two strings in time independent of where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0 && a.length > 0;
}

/** The origins this site answers as: the request's own, and the relay URL's http(s) twin. */
export function allowedOrigins(req: Request, config: Pick<Config, "relayUrl">): Set<string> {
  const out = new Set([new URL(req.url).origin]);
  try {
    const relay = new URL(config.relayUrl.replace(/^ws/, "http"));
    out.add(relay.origin);
  } catch {
    // relayUrl is validated by config; nothing to add when it cannot be parsed
  }
  return out;
}

/**
 * Null when the request's Origin (or, without one, its Referer) is this site or absent;
 * otherwise why it is refused. Browsers send Origin on every cross-site POST.
 */
export function originProblem(req: Request, config: Pick<Config, "relayUrl">): string | null {
  const allowed = allowedOrigins(req, config);
  const origin = req.headers.get("origin");
  if (origin) return allowed.has(origin) ? null : `cross-site request from ${origin}`;
  const referer = req.headers.get("referer");
  if (!referer) return null;
  try {
    return allowed.has(new URL(referer).origin) ? null : "cross-site request";
  } catch {
    return "bad referer";
  }
}

/** A fresh random token (32 bytes, base64url). */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Where to go after login: a local admin path, else the overview. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/admin") || next.startsWith("//") || next.includes("\\")) {
    return "/admin";
  }
  if (next.startsWith("/admin/login") || next.startsWith("/admin/logout")) return "/admin";
  return next;
}
