/**
 * What the admin routes are given: the service layer's dependencies (every read and change goes
 * through `services/`), sessions, the login throttle, the configuration and the static folder.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import type { Logger } from "../lib/log.ts";
import type { ServiceDeps } from "../services/deps.ts";
import type { LoginThrottle, SessionStore } from "../services/sessions.ts";
import type { AdminUser } from "./_define.ts";

/** Dependencies of the admin router and its handlers. */
export interface AdminDeps {
  config: Config;
  log: Logger;
  /** Passed to every services/ function. */
  services: ServiceDeps;
  sessions: SessionStore;
  throttle: LoginThrottle;
  /** The user behind a session (null when deleted). */
  findUser(id: number): Promise<AdminUser | null>;
  /** The user whose email and password match, or null. */
  verifyLogin(email: string, password: string): Promise<AdminUser | null>;
  /** The `static/` folder. */
  staticDir: URL;
  /** Cache-busting id of the stylesheet and islands bundle. */
  buildId: string;
}
