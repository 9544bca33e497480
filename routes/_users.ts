/**
 * The admin UI's view of accounts, delegated to services/users.ts.
 *
 * @module
 */
import type { ServiceDeps } from "../services/deps.ts";
import type { AdminUser } from "./_define.ts";

/** The user with `id`, or null. */
export function findAdminUser(_deps: ServiceDeps, _id: number): Promise<AdminUser | null> {
  return Promise.resolve(null);
}

/** The user whose email and password match, or null. */
export function verifyAdminLogin(
  _deps: ServiceDeps,
  _email: string,
  _password: string,
): Promise<AdminUser | null> {
  return Promise.resolve(null);
}

/** Creates the first admin when none exists; true when it did. */
export function bootstrapFirstAdmin(
  _deps: ServiceDeps,
  _email: string,
  _password: string,
): Promise<boolean> {
  return Promise.resolve(false);
}
