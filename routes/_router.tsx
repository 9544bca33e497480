/**
 * The admin router: static files, session lookup, the access gate (anonymous → login, signed-in
 * non-admin → 403), CSRF and Origin checks on every state-changing request, dispatch to the
 * route's handler, and server rendering of its page inside the layout.
 *
 * @module
 */
import type { ComponentType } from "preact";
import { renderToString } from "preact-render-to-string";
import { errorText } from "../lib/log.ts";
import { clientIp } from "../relay/policies/client_ip.ts";
import { ServiceError } from "../services/deps.ts";
import {
  type AdminState,
  type Ctx,
  HttpError,
  json,
  type PageProps,
  redirect,
  type RouteModule,
} from "./_define.ts";
import type { AdminDeps } from "./_deps.ts";
import {
  LOGIN_CSRF_COOKIE,
  originProblem,
  readCookies,
  safeEqual,
  SESSION_COOKIE,
} from "./_auth.ts";
import { Layout } from "./_layout.tsx";
import { serveStatic } from "./_static.ts";

/** Who may use a route: anyone, any signed-in user, or admins only (the default). */
export type Access = "public" | "user" | "admin";

/** One entry of the route table. */
export interface Route {
  pattern: URLPattern;
  // deno-lint-ignore no-explicit-any
  module: RouteModule<any>;
  access?: Access;
  /** JSON endpoint: errors and refusals are JSON, never a redirect to the login page. */
  api?: boolean;
}

/** Security headers of every rendered page. */
const PAGE_HEADERS: Record<string, string> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

/** A request handler for `/admin` paths. */
export type AdminHandler = (req: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;

/** Renders `Page` with `props` inside the layout as a full HTML document. */
export function renderPage(
  deps: AdminDeps,
  // deno-lint-ignore no-explicit-any
  Page: ComponentType<PageProps<any>>,
  // deno-lint-ignore no-explicit-any
  props: PageProps<any>,
  opts: { title: string; status?: number; headers?: HeadersInit; bare?: boolean },
): Response {
  const P = Page;
  const html = "<!DOCTYPE html>" + renderToString(
    <Layout
      title={opts.title}
      url={props.url}
      user={props.user}
      csrf={props.csrf}
      relayName={deps.config.relayName || "Nostr relay"}
      buildId={deps.buildId}
      bare={opts.bare ?? !props.user?.admin}
    >
      <P {...props} />
    </Layout>,
  );
  const headers = new Headers(PAGE_HEADERS);
  for (const [k, v] of new Headers(opts.headers ?? {})) headers.append(k, v);
  return new Response(html, { status: opts.status ?? 200, headers });
}

function ErrorPage(props: PageProps<{ status: number; message: string }>) {
  const { status, message } = props.data;
  return (
    <section class="card narrow error-page">
      <h1>
        {status === 403 ? "Not allowed" : status === 404 ? "Not found" : "Something went wrong"}
      </h1>
      <p>{message}</p>
      {status === 403 && props.user && (
        <form method="post" action="/admin/logout">
          <input type="hidden" name="_csrf" value={props.csrf} />
          <button class="btn" type="submit">Log in as someone else</button>
        </form>
      )}
      {status !== 403 && (
        <p>
          <a href="/admin">Back to the overview</a>
        </p>
      )}
    </section>
  );
}

function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof ServiceError) {
    return err.code === "not_found" ? 404 : err.code === "conflict" ? 409 : 400;
  }
  return 500;
}

async function readForm(req: Request): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const type = req.headers.get("content-type") ?? "";
  if (type.includes("application/json")) {
    const body = await req.json().catch(() => null) as Record<string, unknown> | null;
    for (const [k, v] of Object.entries(body ?? {})) out[k] = String(v ?? "");
  } else if (type.includes("form")) {
    const form = await req.formData();
    for (const [k, v] of form.entries()) if (typeof v === "string") out[k] = v;
  } else {
    await req.body?.cancel();
  }
  return out;
}

/** Builds the handler of every `/admin` path from the route table. */
export function createRouter(deps: AdminDeps, routes: readonly Route[]): AdminHandler {
  const log = deps.log.child({ part: "admin" });

  async function loadState(req: Request): Promise<AdminState> {
    const sid = readCookies(req)[SESSION_COOKIE];
    if (!sid) return {};
    const session = await deps.sessions.get(sid);
    if (!session) return {};
    const user = await deps.findUser(session.userId);
    if (!user) return {};
    return { user, session: { id: session.id, csrf: session.csrf } };
  }

  return async function adminHandler(req, info) {
    const url = new URL(req.url);
    const method = req.method === "HEAD" ? "GET" : req.method;
    if (url.pathname.startsWith("/admin/static/")) {
      if (method !== "GET") return new Response("method not allowed", { status: 405 });
      return await serveStatic(deps.staticDir, url.pathname.slice("/admin/static/".length), req);
    }
    let route: Route | undefined;
    let params: Record<string, string | undefined> = {};
    for (const r of routes) {
      const m = r.pattern.exec(url);
      if (m) {
        route = r;
        params = m.pathname.groups;
        break;
      }
    }
    if (!route) return new Response("not found", { status: 404 });
    const fn = route.module.handler[method as "GET" | "POST"];
    if (!fn) {
      return new Response("method not allowed", {
        status: 405,
        headers: { allow: Object.keys(route.module.handler).join(", ") },
      });
    }
    const remote = (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname ?? "unknown";
    const ip = clientIp(req.headers, remote, deps.config.trustProxyHeader);
    const state = await loadState(req);
    const csrf = state.session?.csrf ?? "";
    const api = route.api === true;
    const access = route.access ?? "admin";

    function fail(status: number, message: string): Response {
      if (api) return json({ error: message }, status);
      return renderPage(
        deps,
        ErrorPage,
        { data: { status, message }, url, csrf, user: state.user },
        {
          title: status === 403 ? "Not allowed" : "Error",
          status,
          bare: true,
        },
      );
    }

    if (access !== "public" && !state.user) {
      if (api) return json({ error: "sign in first" }, 401);
      const next = url.pathname + url.search;
      return redirect(`/admin/login?next=${encodeURIComponent(next)}`);
    }
    if (access === "admin" && !state.user?.admin) {
      return fail(403, `${state.user!.email} is not an admin of this relay.`);
    }

    let form: Record<string, string> = {};
    if (method !== "GET") {
      const problem = originProblem(req, deps.config);
      if (problem) return fail(403, `Refused: ${problem}.`);
      form = await readForm(req);
      const sent = req.headers.get("x-csrf-token") ?? form._csrf ?? "";
      // The login form has no session yet: it posts back its double-submit cookie.
      const expected = access === "public"
        ? readCookies(req)[LOGIN_CSRF_COOKIE] ?? ""
        : state.session?.csrf ?? "";
      if (!safeEqual(sent, expected)) {
        return fail(403, "Refused: the form has expired. Reload the page and try again.");
      }
    }

    const ctx: Ctx = { req, url, params, state, deps, ip, form };
    try {
      const result = await fn(ctx);
      if (result instanceof Response) return result;
      const Page = route.module.default;
      if (!Page) throw new Error(`Cannot render ${url.pathname}: the route has no page`);
      return renderPage(deps, Page, { data: result.data, url, csrf, user: state.user }, {
        title: route.module.title ?? "Admin",
        status: result.status,
        headers: result.headers,
      });
    } catch (err) {
      const status = statusOf(err);
      if (status === 500) {
        log.error("Cannot handle admin request", {
          path: url.pathname,
          method,
          error: errorText(err),
        });
        return fail(500, "The relay could not complete this request. The error was logged.");
      }
      return fail(status, errorText(err));
    }
  };
}
