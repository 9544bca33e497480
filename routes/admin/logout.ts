/**
 * `/admin/logout` (POST): ends the session and clears the cookie.
 *
 * @module
 */
import { type Handlers, redirect } from "../_define.ts";
import { cookie, isSecure, SESSION_COOKIE } from "../_auth.ts";

export const handler: Handlers = {
  async POST(ctx) {
    if (ctx.state.session) await ctx.deps.sessions.destroy(ctx.state.session.id);
    const secure = isSecure(ctx.req, ctx.deps.config);
    return redirect("/admin/login", {
      "set-cookie": cookie(SESSION_COOKIE, "", { secure, maxAge: 0 }),
    });
  },
};
