/** `deno task migrate`: applies pending migrations to DATABASE_URL. */
import { loadConfig } from "../lib/config.ts";
import { connectPostgres, ensureDatabase, migrate, readMigrations } from "../lib/db.ts";
import { createLogger, errorText } from "../lib/log.ts";

const config = loadConfig();
const log = createLogger("migrate", config.logLevel);
const sql = connectPostgres(config.databaseUrl, { max: 1, appName: "nostr-relay-migrate" });
try {
  if (await ensureDatabase(config.databaseUrl)) log.info("created database");
  const applied = await migrate(
    sql,
    await readMigrations(new URL("../migrations/", import.meta.url)),
  );
  log.info(applied.length ? "applied migrations" : "database is up to date", { applied });
} catch (err) {
  log.error("Cannot migrate", {
    error: errorText(err),
    database: config.databaseUrl.replace(/:[^:@/]*@/, ":***@"),
  });
  Deno.exitCode = 1;
} finally {
  await sql.end();
}
