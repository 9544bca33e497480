/**
 * PostgreSQL access: the `postgres()` factory and the migration runner used by
 * `deno task migrate`, `deno task dev` and the test harness.
 *
 * @module
 */
import postgres from "postgres";

/** A postgres.js client. */
export type Sql = postgres.Sql;

/** Longest wait for a new connection to be established (s): a down database fails fast. */
export const CONNECT_TIMEOUT_S = 3;
/** Longest pause between reconnection attempts (s); postgres.js's default grows to 20 s. */
export const MAX_BACKOFF_S = 1;

/** Seconds to wait before reconnection attempt `retries` (1, 2, ...): 0.1, 0.2, 0.4 ... 1 s. */
export function reconnectBackoff(retries: number): number {
  return Math.min(MAX_BACKOFF_S, 0.05 * 2 ** retries);
}

/**
 * Opens a connection pool. `max` connections; notices are not logged. A connection attempt to a
 * down database fails within CONNECT_TIMEOUT_S (at once when refused) and reconnection attempts
 * are at most MAX_BACKOFF_S apart, so the pool is usable within a second of a recovery.
 */
export function connectPostgres(
  url: string,
  options: { max?: number; appName?: string } = {},
): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    connect_timeout: CONNECT_TIMEOUT_S,
    backoff: reconnectBackoff,
    onnotice: () => {},
    connection: { application_name: options.appName ?? "nostr-relay" },
    // bigint columns come back as JS numbers: created_at and row ids fit in 2^53.
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (x: number) => String(x),
        parse: (x: string) => Number(x),
      },
    },
    transform: { undefined: null },
  });
}

/**
 * Creates the database named in `url` when it does not exist (connecting to the `postgres`
 * maintenance database of the same server). Returns true when it created it.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  if (!/^[\w-]+$/.test(name)) throw new Error(`Cannot create database: unusual name "${name}"`);
  u.pathname = "/postgres";
  const admin = postgres(u.toString(), { max: 1, onnotice: () => {} });
  try {
    const [row] = await admin`select 1 from pg_database where datname = ${name}`;
    if (row) return false;
    await admin.unsafe(`create database "${name}"`);
    return true;
  } finally {
    await admin.end();
  }
}

/** A migration file: `NNNN_name.sql`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads `migrations/*.sql` in version order. */
export async function readMigrations(dir: URL | string): Promise<Migration[]> {
  const out: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const m = /^(\d+)_([\w-]+)\.sql$/.exec(entry.name);
    if (!entry.isFile || !m) continue;
    const path = typeof dir === "string" ? `${dir}/${entry.name}` : new URL(entry.name, dir);
    out.push({ version: Number(m[1]), name: m[2]!, sql: await Deno.readTextFile(path) });
  }
  out.sort((a, b) => a.version - b.version);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.version === out[i - 1]!.version) {
      throw new Error(`Cannot migrate: two migrations numbered ${out[i]!.version}`);
    }
  }
  return out;
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, each in its own transaction,
 * under an advisory lock so concurrent runners wait for each other. Returns the versions applied.
 */
export async function migrate(sql: Sql, migrations: Migration[]): Promise<number[]> {
  const applied: number[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(727274)`;
    await tx`create table if not exists schema_migrations (
      version integer primary key, name text not null, applied_at timestamptz not null default now())`;
  });
  for (const m of migrations) {
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(727274)`;
      const [done] = await tx`select 1 from schema_migrations where version = ${m.version}`;
      if (done) return;
      await tx.unsafe(m.sql);
      await tx`insert into schema_migrations (version, name) values (${m.version}, ${m.name})`;
      applied.push(m.version);
    });
  }
  return applied;
}
