/**
 * Accounts: admin users of the dashboard (email, password hash, admin flag) and the pubkeys
 * linked to users (auth level 2, 3 through a sibling's subscription). Linking and unlinking a
 * pubkey, confirming or deleting a user enqueue RecomputeLevels for the pubkeys concerned.
 *
 * Functions that only read or write `users` take `Pick<ServiceDeps, "sql">`, so scripts (e.g.
 * `deno task admin`) can call them without Redis.
 *
 * @module
 */
import { authorId, recomputeLevels } from "./access.ts";
import { decodeCursor, encodeCursor, type Page, pageLimit, parsePubkey } from "./_input.ts";
import { type ServiceDeps, ServiceError } from "./deps.ts";
import { checkPassword, hashPassword, passwordProblem } from "./passwords.ts";

/** A user. */
export interface User {
  id: number;
  email: string;
  admin: boolean;
  confirmedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Linked pubkeys, hex. */
  pubkeys: string[];
}

type SqlDeps = Pick<ServiceDeps, "sql">;

interface UserRow {
  id: number;
  email: string;
  admin: boolean;
  confirmed_at: Date | null;
  created_at: Date;
  updated_at: Date;
  pubkeys: string[];
}

function userOf(r: UserRow): User {
  return {
    id: r.id,
    email: r.email,
    admin: r.admin,
    confirmedAt: r.confirmed_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    pubkeys: r.pubkeys ?? [],
  };
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

function parseEmail(input: unknown, what: string): string {
  const s = typeof input === "string" ? input.trim().toLowerCase() : "";
  if (!EMAIL.test(s) || s.length > 320) {
    throw new ServiceError("invalid", `Cannot ${what}: ${JSON.stringify(input)} is not an email`);
  }
  return s;
}

function checkNewPassword(password: unknown, what: string): string {
  const problem = passwordProblem(password);
  if (problem) throw new ServiceError("invalid", `Cannot ${what}: password: ${problem}`);
  return password as string;
}

function parseUserId(input: unknown, what: string): number {
  const n = typeof input === "string" && /^\d+$/.test(input) ? Number(input) : input;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new ServiceError("invalid", `Cannot ${what}: ${JSON.stringify(input)} is not a user id`);
  }
  return n;
}

function notFound(what: string, id: number): never {
  throw new ServiceError("not_found", `Cannot ${what}: no user ${id}`);
}

const PUBKEYS_OF = `coalesce((select array_agg(encode(a.pubkey, 'hex') order by up.created_at)
  from user_pubkeys up join authors a on a.id = up.author_id where up.user_id = u.id), '{}')`;

/**
 * Users, newest first, `limit` (default 50) per page; `search` keeps emails containing it.
 */
export async function listUsers(
  deps: SqlDeps,
  options: { limit?: number; cursor?: string | null; search?: string } = {},
): Promise<Page<User>> {
  const { sql } = deps;
  const limit = pageLimit(options.limit);
  const after = decodeCursor(options.cursor, 1);
  const search = options.search?.trim().toLowerCase();
  const rows = await sql<UserRow[]>`
    select u.id, u.email, u.admin, u.confirmed_at, u.created_at, u.updated_at,
      ${sql.unsafe(PUBKEYS_OF)} as pubkeys
    from users u
    where ${after ? sql`u.id < ${Number(after[0])}` : sql`true`}
      and ${search ? sql`strpos(lower(u.email), ${search}) > 0` : sql`true`}
    order by u.id desc
    limit ${limit + 1}`;
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  return {
    items: page.map(userOf),
    next: more ? encodeCursor([page[page.length - 1]!.id]) : null,
  };
}

/** The user with id `id`, or null. */
export async function getUser(deps: SqlDeps, id: number): Promise<User | null> {
  const uid = parseUserId(id, "read user");
  const { sql } = deps;
  const [row] = await sql<UserRow[]>`
    select u.id, u.email, u.admin, u.confirmed_at, u.created_at, u.updated_at,
      ${sql.unsafe(PUBKEYS_OF)} as pubkeys
    from users u where u.id = ${uid}`;
  return row ? userOf(row) : null;
}

/** The user with email `email` (case-insensitive), or null. */
export async function getUserByEmail(deps: SqlDeps, email: string): Promise<User | null> {
  const e = typeof email === "string" ? email.trim().toLowerCase() : "";
  const { sql } = deps;
  const [row] = await sql<UserRow[]>`
    select u.id, u.email, u.admin, u.confirmed_at, u.created_at, u.updated_at,
      ${sql.unsafe(PUBKEYS_OF)} as pubkeys
    from users u where lower(u.email) = ${e}`;
  return row ? userOf(row) : null;
}

/**
 * Creates a user (email stored lowercase). Users an admin creates are confirmed unless
 * `confirmed` is false.
 * @throws {ServiceError} invalid email or password; conflict when the email is taken
 */
export async function createUser(
  deps: SqlDeps,
  input: { email: string; password: string; admin?: boolean; confirmed?: boolean },
): Promise<User> {
  const email = parseEmail(input.email, "create user");
  const password = checkNewPassword(input.password, "create user");
  const hash = await hashPassword(password);
  const confirmed = input.confirmed !== false;
  const rows = await deps.sql<{ id: number }[]>`
    insert into users (email, password_hash, admin, confirmed_at)
    values (${email}, ${hash}, ${input.admin === true}, ${confirmed ? deps.sql`now()` : null})
    on conflict do nothing
    returning id`;
  if (!rows[0]) throw new ServiceError("conflict", `Cannot create user: ${email} already exists`);
  return (await getUser(deps, rows[0].id))!;
}

/** Counts the admins other than user `exceptId`. */
async function otherAdmins(deps: SqlDeps, exceptId: number): Promise<number> {
  const [row] = await deps.sql<{ n: number }[]>`
    select count(*)::int as n from users where admin and id <> ${exceptId}`;
  return row!.n;
}

/**
 * Grants or removes the admin flag.
 * @throws {ServiceError} conflict when it would remove the last admin
 */
export async function setAdmin(deps: SqlDeps, userId: number, admin: boolean): Promise<User> {
  const id = parseUserId(userId, "set admin");
  if (!admin && (await otherAdmins(deps, id)) === 0) {
    const user = await getUser(deps, id);
    if (!user) notFound("set admin", id);
    if (user.admin) throw new ServiceError("conflict", "Cannot remove admin: the last admin");
  }
  const { count } = await deps.sql`
    update users set admin = ${admin === true}, updated_at = now() where id = ${id}`;
  if (!count) notFound("set admin", id);
  return (await getUser(deps, id))!;
}

/** Sets a new password. */
export async function setPassword(deps: SqlDeps, userId: number, password: string): Promise<void> {
  const id = parseUserId(userId, "set password");
  const hash = await hashPassword(checkNewPassword(password, "set password"));
  const { count } = await deps.sql`
    update users set password_hash = ${hash}, updated_at = now() where id = ${id}`;
  if (!count) notFound("set password", id);
}

/** Marks the user's email confirmed (or not); its pubkeys' levels are recomputed. */
export async function setConfirmed(
  deps: ServiceDeps,
  userId: number,
  confirmed: boolean,
): Promise<User> {
  const id = parseUserId(userId, "confirm user");
  const { count } = await deps.sql`
    update users set confirmed_at = ${confirmed ? deps.sql`coalesce(confirmed_at, now())` : null},
      updated_at = now()
    where id = ${id}`;
  if (!count) notFound("confirm user", id);
  const user = (await getUser(deps, id))!;
  await recomputeLevels(deps, user.pubkeys);
  return user;
}

/**
 * Deletes a user (its pubkey links go with it; their levels are recomputed).
 * @throws {ServiceError} conflict when it is the last admin
 */
export async function deleteUser(deps: ServiceDeps, userId: number): Promise<void> {
  const id = parseUserId(userId, "delete user");
  const user = await getUser(deps, id);
  if (!user) notFound("delete user", id);
  if (user.admin && (await otherAdmins(deps, id)) === 0) {
    throw new ServiceError("conflict", "Cannot delete user: the last admin");
  }
  await deps.sql`delete from users where id = ${id}`;
  await recomputeLevels(deps, user.pubkeys);
}

/**
 * Links `pubkey` to user `userId` (with an optional NIP-05 name); its level is recomputed.
 * Re-linking to the same user updates the name.
 * @throws {ServiceError} conflict when the pubkey is linked to another user or the NIP-05 name
 * is taken
 */
export async function linkPubkey(
  deps: ServiceDeps,
  userId: number,
  pubkey: string,
  options: { nip05?: string } = {},
): Promise<User> {
  const id = parseUserId(userId, "link pubkey");
  const pk = parsePubkey(pubkey, "link pubkey");
  const nip05 = options.nip05?.trim() || null;
  if (nip05 !== null && !/^[a-z0-9._-]{1,64}$/i.test(nip05)) {
    throw new ServiceError("invalid", `Cannot link pubkey: "${nip05}" is not a NIP-05 name`);
  }
  if (!(await getUser(deps, id))) notFound("link pubkey", id);
  const author = await authorId(deps.sql, pk);
  try {
    const rows = await deps.sql`
      insert into user_pubkeys (author_id, user_id, nip05_name) values (${author}, ${id}, ${nip05})
      on conflict (author_id) do update set nip05_name = excluded.nip05_name
        where user_pubkeys.user_id = excluded.user_id
      returning user_id`;
    if (!rows.length) {
      throw new ServiceError("conflict", `Cannot link pubkey: ${pk} is linked to another user`);
    }
  } catch (err) {
    if ((err as { code?: string }).code === "23505") {
      throw new ServiceError("conflict", `Cannot link pubkey: NIP-05 name "${nip05}" is taken`);
    }
    throw err;
  }
  await recomputeLevels(deps, [pk]);
  return (await getUser(deps, id))!;
}

/** Unlinks `pubkey` from whichever user has it; false when it was not linked. */
export async function unlinkPubkey(deps: ServiceDeps, pubkey: string): Promise<boolean> {
  const pk = parsePubkey(pubkey, "unlink pubkey");
  const { count } = await deps.sql`
    delete from user_pubkeys up using authors a
    where a.pubkey = decode(${pk}, 'hex') and up.author_id = a.id`;
  await recomputeLevels(deps, [pk]);
  return count > 0;
}

/**
 * The user whose email and password match, or null. Takes the same time whether or not the
 * email exists; a hash with fewer iterations than today's is upgraded on success.
 */
export async function verifyPassword(
  deps: SqlDeps,
  email: string,
  password: string,
): Promise<User | null> {
  const e = typeof email === "string" ? email.trim().toLowerCase() : "";
  const pw = typeof password === "string" ? password : "";
  const [row] = await deps.sql<{ id: number; password_hash: string }[]>`
    select id, password_hash from users where lower(email) = ${e}`;
  const check = await checkPassword(pw, row?.password_hash ?? "");
  if (!row || !check.ok) return null;
  if (check.rehash) {
    await deps.sql`update users set password_hash = ${await hashPassword(pw)} where id = ${row.id}`;
  }
  return await getUser(deps, row.id);
}

/**
 * Creates the first admin from ADMIN_EMAIL / ADMIN_PASSWORD when both are set and no admin
 * exists yet (an existing user with that email is made admin, its password reset). Returns the
 * admin created or promoted, or null when nothing was done.
 */
export async function ensureBootstrapAdmin(
  deps: Pick<ServiceDeps, "sql" | "config">,
): Promise<User | null> {
  const { adminEmail, adminPassword } = deps.config;
  if (!adminEmail || !adminPassword) return null;
  return await deps.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(727275)`;
    const [any] = await tx`select 1 from users where admin limit 1`;
    if (any) return null;
    const { user } = await createOrResetAdmin(
      { sql: tx as unknown as ServiceDeps["sql"] },
      adminEmail,
      adminPassword,
    );
    return user;
  });
}

/**
 * Makes `email` an admin with password `password` (`deno task admin`): creates the user, or
 * resets the password of an existing one and sets its admin flag and confirmation.
 */
export async function createOrResetAdmin(
  deps: SqlDeps,
  email: string,
  password: string,
): Promise<{ user: User; created: boolean }> {
  const e = parseEmail(email, "create admin");
  const hash = await hashPassword(checkNewPassword(password, "create admin"));
  const [row] = await deps.sql<{ id: number; created: boolean }[]>`
    insert into users (email, password_hash, admin, confirmed_at)
    values (${e}, ${hash}, true, now())
    on conflict ((lower(email))) do update
      set password_hash = excluded.password_hash, admin = true,
        confirmed_at = coalesce(users.confirmed_at, now()), updated_at = now()
    returning id, (xmax = 0) as created`;
  return { user: (await getUser(deps, row!.id))!, created: row!.created };
}

/**
 * True when `pubkey` may administer the relay over NIP-86: listed in ADMIN_PUBKEYS or linked to
 * an admin user.
 */
export async function isAdminPubkey(
  deps: Pick<ServiceDeps, "sql" | "config">,
  pubkey: string,
): Promise<boolean> {
  const pk = parsePubkey(pubkey, "check admin");
  if (deps.config.adminPubkeys.includes(pk)) return true;
  const [row] = await deps.sql`
    select 1 from user_pubkeys up
    join authors a on a.id = up.author_id
    join users u on u.id = up.user_id and u.admin
    where a.pubkey = decode(${pk}, 'hex')`;
  return row !== undefined;
}
