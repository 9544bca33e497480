/**
 * Migrations from an empty database to the latest schema, one at a time, with sample rows
 * inserted along the way so that every later migration runs over data: no row or value of an
 * earlier schema is lost, the result equals a straight migration, and re-running is a no-op
 * (also through `deno task migrate`).
 */
import assert from "node:assert/strict";
import {
  connectPostgres,
  ensureDatabase,
  migrate,
  type Migration,
  readMigrations,
  type Sql,
} from "../lib/db.ts";
import { canonicalJson, type NostrEvent } from "../lib/nostr/event.ts";
import { signer } from "./_client.ts";
import { freshDatabase } from "./_harness.ts";
import { ROOT, taskCommand } from "./faults/_procs.ts";

const PG_BASE = Deno.env.get("TEST_DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
const MIGRATIONS = new URL("../migrations/", import.meta.url);

/**
 * Sample rows written right after the migration of that version, valid for the schema at that
 * point. A new migration that adds tables should add its rows here, so the ones after it run
 * over them too.
 */
const SEEDS: Record<number, (sql: Sql) => Promise<void>> = {
  1: async (sql) => {
    const alice = signer();
    const bob = signer();
    const [a] =
      await sql`insert into authors (pubkey) values (decode(${alice.pubkey}, 'hex')) returning id`;
    const [b] =
      await sql`insert into authors (pubkey) values (decode(${bob.pubkey}, 'hex')) returning id`;
    const rows: [NostrEvent, number, string | null, number | null][] = [
      [alice.sign({ content: "hello", tags: [["t", "intro"]] }), a!.id, null, null],
      [alice.sign({ kind: 0, content: '{"name":"alice"}' }), a!.id, null, null],
      [bob.sign({ kind: 30023, tags: [["d", "post"]], content: "long" }), b!.id, "post", null],
      [
        bob.sign({ content: "expiring", tags: [["expiration", "4102444800"]] }),
        b!.id,
        null,
        4102444800,
      ],
    ];
    for (const [e, author, d, exp] of rows) {
      const [row] = await sql`insert into events
        (event_id, author_id, kind, created_at, d_tag, expires_at, raw)
        values (decode(${e.id}, 'hex'), ${author}, ${e.kind}, ${e.created_at}, ${d}, ${exp}, ${
        canonicalJson(e)
      })
        returning id`;
      for (const [name, value] of e.tags.filter((t) => t[0]!.length === 1)) {
        await sql`insert into searchable_tags (event_id, name, value, created_at)
          values (${row!.id}, ${name!}, ${value!}, ${e.created_at})`;
      }
      if (e.kind === 1) {
        await sql`insert into searchable_contents (event_id, tsv)
          values (${row!.id}, to_tsvector('simple', ${e.content}))`;
      }
    }
    const deletion = "d".repeat(64);
    await sql`insert into delete_events (event_id, author_id, deletion_id)
      values (decode(${"e".repeat(64)}, 'hex'), ${a!.id}, decode(${deletion}, 'hex'))`;
    await sql`insert into delete_addresses (author_id, kind, d_tag, until, deletion_id)
      values (${b!.id}, 30023, 'old', 1700000000, decode(${deletion}, 'hex'))`;
  },
  3: async (sql) => {
    const [user] = await sql`insert into users (email, password_hash, admin)
      values ('admin@example.com', 'pbkdf2$600000$salt$hash', true) returning id`;
    const authors = await sql<{ id: number }[]>`select id from authors order by id`;
    await sql`insert into user_pubkeys (author_id, user_id, nip05_name)
      values (${authors[0]!.id}, ${user!.id}, 'alice')`;
    await sql`insert into author_subscriptions (author_id, expires_at)
      values (${authors[0]!.id}, now() + interval '30 days')`;
    await sql`insert into trusted_authors (author_id) values (${authors[1]!.id})`;
  },
};

/** Every row of every table (but schema_migrations), as JSON objects keyed by table. */
async function snapshot(sql: Sql): Promise<Map<string, Record<string, unknown>[]>> {
  const tables = await sql<{ name: string }[]>`select table_name as name
    from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'schema_migrations'
    order by table_name`;
  const out = new Map<string, Record<string, unknown>[]>();
  for (const { name } of tables) {
    const rows = await sql.unsafe<{ j: string }[]>(
      `select to_jsonb(t)::text as j from "${name}" t order by 1`,
    );
    out.set(name, rows.map((r) => JSON.parse(r.j)));
  }
  return out;
}

/** The shape of the schema: columns with types and nullability, and index definitions. */
async function schema(sql: Sql): Promise<string[]> {
  const cols = await sql<{ d: string }[]>`select table_name || '.' || column_name || ' ' ||
      data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') as d
    from information_schema.columns where table_schema = 'public' order by 1`;
  const idx = await sql<{ d: string }[]>`select indexdef as d from pg_indexes
    where schemaname = 'public' order by 1`;
  const cons = await sql<{ d: string }[]>`select conrelid::regclass || ' ' ||
      pg_get_constraintdef(oid) as d
    from pg_constraint where connamespace = 'public'::regnamespace order by 1`;
  return [...cols, ...idx, ...cons].map((r) => r.d);
}

/** Fails when a row or a value of `before` is missing from `after` (dropped columns count). */
function assertKept(
  before: Map<string, Record<string, unknown>[]>,
  after: Map<string, Record<string, unknown>[]>,
  m: Migration,
) {
  for (const [table, rows] of before) {
    const now = after.get(table);
    assert.ok(now, `migration ${m.version}_${m.name} dropped table ${table}`);
    assert.equal(now.length, rows.length, `migration ${m.version} changed the rows of ${table}`);
    const columns = Object.keys(rows[0] ?? {});
    for (const col of columns) {
      assert.ok(
        now.length === 0 || col in now[0]!,
        `migration ${m.version}_${m.name} dropped column ${table}.${col}`,
      );
    }
    const key = (r: Record<string, unknown>) => JSON.stringify(columns.map((c) => r[c]));
    assert.deepEqual(
      now.map(key).sort(),
      rows.map(key).sort(),
      `migration ${m.version}_${m.name} changed values in ${table}`,
    );
  }
}

Deno.test({
  name: "migrations - one by one over data: nothing lost, same schema, re-running is a no-op",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const migrations = await readMigrations(MIGRATIONS);
    assert.ok(migrations.length >= 1);
    const u = new URL(PG_BASE);
    u.pathname = `/nostr_test_mig_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const url = u.toString();
    assert.equal(await ensureDatabase(url), true);
    const sql = connectPostgres(url, { max: 1 });
    const straight = await freshDatabase();
    try {
      for (const [i, m] of migrations.entries()) {
        await t.step(
          `${m.version}_${m.name} applies over the data of the earlier ones`,
          async () => {
            const before = await snapshot(sql);
            assert.deepEqual(await migrate(sql, migrations.slice(0, i + 1)), [m.version]);
            assertKept(before, await snapshot(sql), m);
            await SEEDS[m.version]?.(sql);
          },
        );
      }

      await t.step("the result has the schema of a straight migration", async () => {
        const direct = connectPostgres(straight.url, { max: 1 });
        try {
          assert.deepEqual(await schema(sql), await schema(direct));
        } finally {
          await direct.end();
        }
      });

      await t.step("re-running migrate applies nothing and changes nothing", async () => {
        const [rows, shape] = [await snapshot(sql), await schema(sql)];
        assert.ok([...rows.values()].some((r) => r.length > 0), "the tables hold sample rows");
        assert.deepEqual(await migrate(sql, migrations), []);
        assert.deepEqual(await snapshot(sql), rows);
        assert.deepEqual(await schema(sql), shape);
        const recorded = await sql<{ version: number }[]>`select version from schema_migrations
          order by version`;
        assert.deepEqual(recorded.map((r) => r.version), migrations.map((m) => m.version));
      });

      await t.step("deno task migrate reports the database up to date", async () => {
        const { flags, script } = await taskCommand("migrate");
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", ...flags, script],
          cwd: ROOT,
          env: { DATABASE_URL: url, LOG_LEVEL: "info" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, text);
        assert.match(text, /"msg":"database is up to date","applied":\[\]/);
      });
    } finally {
      await sql.end();
      await straight.drop();
      const admin = connectPostgres(PG_BASE, { max: 1 });
      await admin.unsafe(`drop database if exists "${u.pathname.slice(1)}" with (force)`);
      await admin.end();
    }
  },
});
