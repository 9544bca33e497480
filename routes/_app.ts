/**
 * Composition of the admin UI inside the web process: its own Redis connection and PostgreSQL
 * pool for the service layer (a fixed count, whatever the traffic), sessions, the login
 * throttle, the first admin from ADMIN_EMAIL / ADMIN_PASSWORD, and the router over ROUTES.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import { redisKeys } from "../lib/contract.ts";
import { connectPostgres } from "../lib/db.ts";
import { errorText, type Logger } from "../lib/log.ts";
import { connectRedis } from "../lib/redis.ts";
import { openQueues, type ServiceDeps } from "../services/deps.ts";
import { createLoginThrottle, createSessionStore } from "../services/sessions.ts";
import { bootstrapFirstAdmin, findAdminUser, verifyAdminLogin } from "./_users.ts";
import type { AdminDeps } from "./_deps.ts";
import { buildId } from "./_static.ts";
import { type AdminHandler, createRouter } from "./_router.tsx";
import { ROUTES } from "./mod.ts";

/** The running admin UI. */
export interface AdminHandle {
  handler: AdminHandler;
  deps: AdminDeps;
  /** Releases its Redis connection, queues and PostgreSQL pool. */
  close(): Promise<void>;
}

/** Files whose content makes up the build id the layout appends to their URLs. */
const VERSIONED = ["admin.css", "_islands/boot.js"];

/** Starts the admin UI for `config`: connects, bootstraps the first admin, builds the router. */
export async function startAdmin(opts: { config: Config; log: Logger }): Promise<AdminHandle> {
  const { config } = opts;
  const log = opts.log.child({ part: "admin" });
  const keys = redisKeys(config.redisPrefix);
  const redis = connectRedis(config.redisUrl, { name: "nostr-admin" });
  redis.on("error", () => {}); // the relay's own connections report outages
  const sql = connectPostgres(config.databaseUrl, { max: 4, appName: "nostr-relay-admin" });
  const queues = openQueues(redis, keys);
  const services: ServiceDeps = { sql, redis, keys, config, queues };
  const staticDir = new URL("../static/", import.meta.url);
  try {
    await Deno.stat(new URL("_islands/boot.js", staticDir));
  } catch {
    log.warn(
      "The islands bundle is missing: run `deno task build` (pages work, live parts do not)",
    );
  }
  const deps: AdminDeps = {
    config,
    log,
    services,
    sessions: createSessionStore({ redis, prefix: config.redisPrefix }),
    throttle: createLoginThrottle({ redis, prefix: config.redisPrefix }),
    findUser: (id) => findAdminUser(services, id),
    verifyLogin: (email, password) => verifyAdminLogin(services, email, password),
    staticDir,
    buildId: await buildId(staticDir, VERSIONED),
  };
  if (config.adminEmail && config.adminPassword) {
    try {
      const email = await bootstrapFirstAdmin(services);
      if (email) log.info("created the first admin", { email });
    } catch (err) {
      log.error("Cannot create the first admin", { error: errorText(err) });
    }
  }
  return {
    handler: createRouter(deps, ROUTES),
    deps,
    async close() {
      await queues.close().catch(() => {});
      await sql.end({ timeout: 2 }).catch(() => {});
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
