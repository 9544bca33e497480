/**
 * The Fresh-shaped vocabulary of the admin routes, without Fresh: a route module exports
 * `handler` (functions by HTTP method) and a default page component; a handler returns either a
 * `Response` or `page(data)`, which the router renders inside the layout.
 *
 * @module
 */
import type { ComponentType } from "preact";
import { ServiceError } from "../services/deps.ts";
import type { AdminDeps } from "./_deps.ts";

/** The signed-in user, as the session resolved it. */
export interface AdminUser {
  id: number;
  email: string;
  admin: boolean;
}

/** Per-request state the router fills in before a handler runs. */
export interface AdminState {
  user?: AdminUser;
  /** Session id and its CSRF token (absent for anonymous visitors). */
  session?: { id: string; csrf: string };
}

/** What a handler receives. */
export interface Ctx {
  req: Request;
  url: URL;
  params: Record<string, string | undefined>;
  state: AdminState;
  deps: AdminDeps;
  /** Client IP (socket, or the trusted proxy header when configured). */
  ip: string;
  /** The posted form fields (urlencoded, multipart or a JSON object); empty for GET. */
  form: Record<string, string>;
}

/** Data for the page component, with optional status and headers. */
export interface PageData<T> {
  readonly page: true;
  data: T;
  status?: number;
  headers?: HeadersInit;
}

/** Tells the router to render the route's page component with `data`. */
export function page<T>(
  data: T,
  init: { status?: number; headers?: HeadersInit } = {},
): PageData<T> {
  return { page: true, data, ...init };
}

/** A handler's answer. */
export type HandlerResult<T> = Response | PageData<T>;

/** One handler function. */
export type HandlerFn<T> = (ctx: Ctx) => HandlerResult<T> | Promise<HandlerResult<T>>;

/** Handlers by method (Fresh's `export const handler = { GET, POST }`). */
export type Handlers<T = unknown> = Partial<Record<"GET" | "POST", HandlerFn<T>>>;

/** What a page component receives besides its data. */
export interface PageProps<T> {
  data: T;
  /** The request URL (query parameters for filters and flash messages). */
  url: URL;
  /** The CSRF token forms must post back in `_csrf`. */
  csrf: string;
  user?: AdminUser;
}

/** A route module. */
export interface RouteModule<T = unknown> {
  handler: Handlers<T>;
  // deno-lint-ignore no-explicit-any
  default?: ComponentType<PageProps<any>>;
  /** Page title (also the nav label's match). */
  title?: string;
}

/** An error a handler throws to answer with `status` and a short message. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "HttpError";
  }
}

/** A 303 redirect (after a POST, or to the login page). */
export function redirect(location: string, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("location", location);
  return new Response(null, { status: 303, headers: h });
}

/** A JSON response that is never cached. */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

/** `path` with `?ok=` or `?error=` set: the flash message the next page shows. */
export function flash(path: string, kind: "ok" | "error", message: string): string {
  const u = new URL(path, "http://x");
  u.searchParams.delete("ok");
  u.searchParams.delete("error");
  u.searchParams.set(kind, message);
  return u.pathname + u.search;
}

/**
 * Runs a form action and redirects back to `back` (post/redirect/get) with its message as a
 * flash: the returned text, or the message of a ServiceError (bad input, unknown record).
 */
export async function act(back: string, fn: () => Promise<string>): Promise<Response> {
  try {
    return redirect(flash(back, "ok", await fn()));
  } catch (err) {
    if (err instanceof ServiceError || (err instanceof HttpError && err.status < 500)) {
      return redirect(flash(back, "error", err.message));
    }
    throw err;
  }
}
