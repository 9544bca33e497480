/**
 * HTTP routing of the web process: websocket upgrades become relay connections, NIP-11 answers
 * `Accept: application/nostr+json`, plus CORS preflight, a health check and a landing page;
 * `withAdmin` adds the admin UI, `withManagement` NIP-86 and the NIP-11 overrides.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import { type Nip11Config, nip11Document } from "./nip11.ts";

/** CORS headers NIP-11 requires on the relay URL. */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "*",
  "access-control-allow-methods": "GET, POST, OPTIONS",
};

/** What the router needs from the rest of the web process. */
export interface HttpDeps {
  config: Nip11Config & Pick<Config, "relayUrl">;
  /** Upgrades the request and starts a relay connection; returns the 101 response. */
  onWebSocket(req: Request, info: Deno.ServeHandlerInfo | undefined): Response;
  /** True once shutdown began: new websockets are refused with 503. */
  isClosing?(): boolean;
}

/** A request handler for Deno.serve; `info` is optional so tests can call it directly. */
export type HttpHandler = (req: Request, info?: Deno.ServeHandlerInfo) => Response;

/** An asynchronous handler a path prefix is delegated to (the admin UI). */
export type AsyncHttpHandler = (req: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;

/** True for `/admin` and every path below it. */
export function isAdminPath(path: string): boolean {
  return path === "/admin" || path.startsWith("/admin/");
}

/**
 * `handler` with every `/admin` path (websocket upgrades excepted) answered by `admin`, the
 * admin UI of routes/.
 */
export function withAdmin(
  handler: HttpHandler,
  admin: AsyncHttpHandler,
): (req: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response> {
  return function handlerWithAdmin(req, info) {
    const upgrade = req.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (!upgrade && isAdminPath(new URL(req.url).pathname)) return admin(req, info);
    return handler(req, info);
  };
}

/** The Content-Type of NIP-86 management requests. */
export const NIP86_CONTENT_TYPE = "application/nostr+json+rpc";

/** True for a NIP-86 request: a POST with Content-Type application/nostr+json+rpc. */
export function isNip86Request(req: Request): boolean {
  if (req.method !== "POST") return false;
  const type = req.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  return type === NIP86_CONTENT_TYPE;
}

/** The management routes `withManagement` adds. */
export interface ManagementRoutes {
  /** The NIP-86 API (relay/nip86.ts); absent when NIP_86_ENABLED is false. */
  nip86?: AsyncHttpHandler;
  /** The NIP-11 document with the admin's overrides (relay/nip11.ts `nip11Source`). */
  nip11?: () => Promise<string>;
}

/**
 * `handler` with NIP-86 requests (any path but `/admin`) answered by `routes.nip86`, and the
 * NIP-11 document served from `routes.nip11` so that an admin's name, description and icon
 * changes show at once.
 */
export function withManagement(
  handler: (req: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>,
  routes: ManagementRoutes,
): (req: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response> {
  return function handlerWithManagement(req, info) {
    const upgrade = req.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (upgrade || isAdminPath(new URL(req.url).pathname)) return handler(req, info);
    if (routes.nip86 && isNip86Request(req)) return routes.nip86(req, info);
    const read = req.method === "GET" || req.method === "HEAD";
    if (routes.nip11 && read && acceptsNostrJson(req.headers.get("accept"))) {
      return routes.nip11().then((json) =>
        new Response(json, {
          headers: { ...CORS_HEADERS, "content-type": "application/nostr+json" },
        })
      );
    }
    return handler(req, info);
  };
}

/** The observability routes `withObservability` adds. */
export interface ObservabilityRoutes {
  /** The Prometheus text of `GET /metrics`. */
  metrics?: () => Promise<Response>;
  /** The checks of `GET /readyz`: "ok" or why each failed. */
  readiness?: () => Promise<Record<string, string>>;
}

/**
 * `handler` with `GET /metrics` (Prometheus text) and `GET /readyz` (200 when every check is
 * "ok", else 503; JSON `{status, checks}` either way). `/healthz` stays in `createHandler`: it
 * answers while the process serves, whatever Redis and PostgreSQL do.
 */
export function withObservability(
  handler: (req: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>,
  routes: ObservabilityRoutes,
): (req: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response> {
  return function handlerWithObservability(req, info) {
    if (req.method !== "GET" && req.method !== "HEAD") return handler(req, info);
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") return handler(req, info);
    const path = new URL(req.url).pathname;
    if (path === "/metrics" && routes.metrics) return routes.metrics();
    if (path === "/readyz" && routes.readiness) {
      return routes.readiness().then((checks) => {
        const ok = Object.values(checks).every((v) => v === "ok");
        return new Response(JSON.stringify({ status: ok ? "ready" : "unavailable", checks }), {
          status: ok ? 200 : 503,
          headers: { "content-type": "application/json", "cache-control": "no-store" },
        });
      });
    }
    return handler(req, info);
  };
}

/** True when the Accept header lists `application/nostr+json` (parameters ignored). */
export function acceptsNostrJson(accept: string | null): boolean {
  if (!accept) return false;
  return accept.split(",").some((t) =>
    t.split(";")[0]!.trim().toLowerCase() === "application/nostr+json"
  );
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function landingPage(config: HttpDeps["config"]): string {
  const name = escapeHtml(config.relayName || "Nostr relay");
  const url = escapeHtml(config.relayUrl);
  const about = config.relayDescription ? `<p>${escapeHtml(config.relayDescription)}</p>` : "";
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${name}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>${name}</h1>
<p>This is a <a href="https://github.com/nostr-protocol/nips">Nostr</a> relay.
Connect a Nostr client to <code>${url}</code>.</p>${about}
</body></html>
`;
}

/** Builds the handler. The NIP-11 document and landing page are rendered once. */
export function createHandler(deps: HttpDeps): HttpHandler {
  const nip11 = JSON.stringify(nip11Document(deps.config));
  const landing = landingPage(deps.config);
  return function handler(req, info) {
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      if (deps.isClosing?.()) {
        return new Response("relay is shutting down", { status: 503 });
      }
      return deps.onWebSocket(req, info);
    }
    if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS_HEADERS });
    const read = req.method === "GET" || req.method === "HEAD";
    if (read && acceptsNostrJson(req.headers.get("accept"))) {
      return new Response(nip11, {
        headers: { ...CORS_HEADERS, "content-type": "application/nostr+json" },
      });
    }
    const path = new URL(req.url).pathname;
    if (read && path === "/healthz") {
      return new Response("ok", { headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    if (read && path === "/") {
      return new Response(landing, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    return new Response("not found", { status: 404 });
  };
}
