/**
 * The admin route table: explicit URLPatterns matched in order (Fresh finds routes by crawling
 * the folder; we list them). Each module exports `handler` (by method) and, for pages, a default
 * component. Every route is for admins only unless it says otherwise.
 *
 * @module
 */
import type { Route } from "./_router.tsx";
import * as overview from "./admin/index.tsx";
import * as login from "./admin/login.tsx";
import * as logout from "./admin/logout.ts";
import * as connections from "./admin/connections.tsx";
import * as apiConnections from "./admin/api/connections.ts";
import * as apiConnectionClose from "./admin/api/connection_close.ts";
import * as config from "./admin/config.tsx";
import * as trusted from "./admin/trusted.tsx";
import * as subscriptions from "./admin/subscriptions.tsx";
import * as users from "./admin/users.tsx";
import * as user from "./admin/user.tsx";
import * as events from "./admin/events.tsx";
import * as event from "./admin/event.tsx";
import * as moderation from "./admin/moderation.tsx";
import * as jobs from "./admin/jobs.tsx";

function route(pathname: string, module: Route["module"], extra: Partial<Route> = {}): Route {
  return { pattern: new URLPattern({ pathname }), module, ...extra };
}

/** Every admin route, in match order. */
export const ROUTES: readonly Route[] = [
  route("/admin{/}?", overview),
  route("/admin/login", login, { access: "public" }),
  route("/admin/logout", logout, { access: "user" }),
  route("/admin/connections", connections),
  route("/admin/api/connections", apiConnections, { api: true }),
  route("/admin/api/connections/:id/close", apiConnectionClose, { api: true }),
  route("/admin/config", config),
  route("/admin/trusted", trusted),
  route("/admin/subscriptions", subscriptions),
  route("/admin/users", users),
  route("/admin/users/:id", user),
  route("/admin/events", events),
  route("/admin/events/:id", event),
  route("/admin/moderation", moderation),
  route("/admin/jobs", jobs),
];
