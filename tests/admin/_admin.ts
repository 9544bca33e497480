/**
 * Test helpers for the admin UI over plain HTTP: log in (login form, CSRF cookie, session
 * cookie) and send requests as that session.
 *
 * @module
 */

/** A signed-in (or anonymous) HTTP client of the admin UI. */
export interface AdminClient {
  /** `Cookie` header value ("" for anonymous). */
  cookie: string;
  /** The session's CSRF token ("" for anonymous). */
  csrf: string;
  get(path: string, init?: RequestInit): Promise<Response>;
  /** POSTs form fields (with `_csrf` unless given) and the site's Origin. */
  post(path: string, fields?: Record<string, string>, init?: RequestInit): Promise<Response>;
}

/** The value of the first hidden `_csrf` field of a page. */
export function csrfOf(html: string): string {
  return /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
}

function cookiesOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const eq = pair!.indexOf("=");
    out[pair!.slice(0, eq)] = pair!.slice(eq + 1);
  }
  return out;
}

/** A client that sends `cookie` and `csrf` with every request to `base`. */
export function client(base: string, cookie = "", csrf = ""): AdminClient {
  return {
    cookie,
    csrf,
    get(path, init = {}) {
      const headers = new Headers(init.headers);
      if (cookie) headers.set("cookie", cookie);
      return fetch(base + path, { redirect: "manual", ...init, headers });
    },
    post(path, fields = {}, init = {}) {
      const headers = new Headers(init.headers);
      if (cookie) headers.set("cookie", cookie);
      if (!headers.has("origin")) headers.set("origin", base);
      const body = new URLSearchParams({ _csrf: csrf, ...fields });
      return fetch(base + path, { method: "POST", redirect: "manual", body, ...init, headers });
    },
  };
}

/** The result of a login attempt. */
export interface LoginResult {
  status: number;
  client?: AdminClient;
  setCookies: string[];
  body: string;
}

/** Submits the login form like a browser; `client` is set when a session cookie came back. */
export async function tryLogin(
  base: string,
  email: string,
  password: string,
): Promise<LoginResult> {
  const form = await fetch(`${base}/admin/login`);
  const html = await form.text();
  const loginCookie = Object.entries(cookiesOf(form)).map(([k, v]) => `${k}=${v}`).join("; ");
  const res = await fetch(`${base}/admin/login`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie: loginCookie, origin: base },
    body: new URLSearchParams({ _csrf: csrfOf(html), email, password, next: "/admin/config" }),
  });
  const body = await res.text();
  const session = cookiesOf(res).admin_session;
  const setCookies = res.headers.getSetCookie();
  if (!session) return { status: res.status, setCookies, body };
  const cookie = `admin_session=${session}`;
  // Every page of a signed-in user (a 403 one too) carries the token in its logout form.
  const any = await fetch(`${base}/admin/config`, { headers: { cookie }, redirect: "manual" });
  const csrf = csrfOf(await any.text());
  return { status: res.status, setCookies, body, client: client(base, cookie, csrf) };
}

/** Logs in and returns the client, or throws. */
export async function login(base: string, email: string, password: string): Promise<AdminClient> {
  const r = await tryLogin(base, email, password);
  if (!r.client) throw new Error(`Cannot log in as ${email}: HTTP ${r.status}`);
  return r.client;
}
