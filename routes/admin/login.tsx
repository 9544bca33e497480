/**
 * `/admin/login`: email and password. Failed attempts are throttled per IP and per email
 * (services/sessions.ts); success starts a session and sets the session cookie.
 *
 * @module
 */
import { errorText } from "../../lib/log.ts";
import { type Handlers, page, type PageProps, redirect } from "../_define.ts";
import {
  cookie,
  isSecure,
  LOGIN_CSRF_COOKIE,
  randomToken,
  readCookies,
  safeNext,
  SESSION_COOKIE,
} from "../_auth.ts";

interface Data {
  relay: string;
  token: string;
  next: string;
  email: string;
  error?: string;
}

export const title = "Log in";

function form(
  ctx: Parameters<NonNullable<Handlers["GET"]>>[0],
  data: Omit<Data, "token" | "relay">,
  status = 200,
) {
  const secure = isSecure(ctx.req, ctx.deps.config);
  const token = readCookies(ctx.req)[LOGIN_CSRF_COOKIE] || randomToken();
  const relay = ctx.deps.config.relayName || "Nostr relay";
  return page<Data>({ ...data, token, relay }, {
    status,
    headers: {
      "set-cookie": cookie(LOGIN_CSRF_COOKIE, token, {
        secure,
        path: "/admin/login",
        sameSite: "Strict",
        maxAge: 3600,
      }),
    },
  });
}

export const handler: Handlers<Data> = {
  GET(ctx) {
    const next = safeNext(ctx.url.searchParams.get("next"));
    if (ctx.state.user?.admin) return redirect(next);
    return form(ctx, { next, email: "" });
  },
  async POST(ctx) {
    const email = (ctx.form.email ?? "").trim().slice(0, 320);
    const password = ctx.form.password ?? "";
    const next = safeNext(ctx.form.next);
    const { deps } = ctx;
    const allowance = await deps.throttle.check(ctx.ip, email);
    if (!allowance.allowed) {
      const minutes = Math.ceil(allowance.retryAfter / 60);
      return form(ctx, {
        next,
        email,
        error: `Too many failed attempts. Try again in ${minutes} minute${
          minutes === 1 ? "" : "s"
        }.`,
      }, 429);
    }
    let user = null;
    if (email && password) {
      try {
        user = await deps.verifyLogin(email, password);
      } catch (err) {
        deps.log.warn("Cannot verify admin login", { error: errorText(err) });
        return form(
          ctx,
          { next, email, error: "The relay cannot check passwords right now." },
          503,
        );
      }
    }
    if (!user) {
      await deps.throttle.failed(ctx.ip, email);
      return form(ctx, { next, email, error: "Wrong email or password." }, 401);
    }
    await deps.throttle.succeeded(email);
    const session = await deps.sessions.create(user.id);
    const secure = isSecure(ctx.req, deps.config);
    const headers = new Headers();
    headers.append("set-cookie", cookie(SESSION_COOKIE, session.id, { secure }));
    headers.append(
      "set-cookie",
      cookie(LOGIN_CSRF_COOKIE, "", { secure, path: "/admin/login", maxAge: 0 }),
    );
    deps.log.info("admin login", { user: user.id, ip: ctx.ip });
    return redirect(user.admin ? next : "/admin", headers);
  },
};

export default function LoginPage({ data }: PageProps<Data>) {
  return (
    <section class="card narrow login">
      <p class="login-brand">
        <span class="logo" aria-hidden="true">⚡</span> {data.relay}
      </p>
      <h1>Log in</h1>
      <p class="muted">Administration of this relay. Admins only.</p>
      {data.error && <p class="flash error" role="alert">{data.error}</p>}
      <form method="post" action="/admin/login" class="stack">
        <input type="hidden" name="_csrf" value={data.token} />
        <input type="hidden" name="next" value={data.next} />
        <label>
          Email
          <input
            type="email"
            name="email"
            value={data.email}
            autocomplete="username"
            required
            autofocus={!data.email}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autocomplete="current-password"
            required
            autofocus={!!data.email}
          />
        </label>
        <button type="submit" class="btn primary">Log in</button>
      </form>
    </section>
  );
}
