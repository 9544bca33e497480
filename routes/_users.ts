/**
 * The admin UI's view of accounts, delegated to services/users.ts.
 *
 * @module
 */
import type { ServiceDeps } from "../services/deps.ts";
import { ensureBootstrapAdmin, getUser, type User, verifyPassword } from "../services/users.ts";
import type { AdminUser } from "./_define.ts";

function adminUser(u: User | null): AdminUser | null {
  return u ? { id: u.id, email: u.email, admin: u.admin } : null;
}

/** The user with `id`, or null. */
export async function findAdminUser(deps: ServiceDeps, id: number): Promise<AdminUser | null> {
  return adminUser(await getUser(deps, id));
}

/** The user whose email and password match, or null. */
export async function verifyAdminLogin(
  deps: ServiceDeps,
  email: string,
  password: string,
): Promise<AdminUser | null> {
  return adminUser(await verifyPassword(deps, email, password));
}

/**
 * Creates the first admin from ADMIN_EMAIL / ADMIN_PASSWORD when no admin exists; the email
 * of the admin created, or null when there was one already.
 */
export async function bootstrapFirstAdmin(deps: ServiceDeps): Promise<string | null> {
  return (await ensureBootstrapAdmin(deps))?.email ?? null;
}
