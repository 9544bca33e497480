/**
 * `deno task admin <email> <password>`: creates an admin user, or makes an existing user admin
 * and resets its password (for a lost password or a first admin without ADMIN_EMAIL). Needs the
 * migrated database only (no Redis).
 *
 * @module
 */
import { ConfigError, loadConfig } from "../lib/config.ts";
import { connectPostgres } from "../lib/db.ts";
import { createLogger, errorText } from "../lib/log.ts";
import { ServiceError } from "../services/deps.ts";
import { createOrResetAdmin } from "../services/users.ts";

const USAGE = "usage: deno task admin <email> <password>";

async function main(args: string[]): Promise<number> {
  const log = createLogger("admin");
  if (args.length !== 2 || args.some((a) => a === "-h" || a === "--help")) {
    log.error(USAGE);
    return 2;
  }
  const [email, password] = args as [string, string];
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) log.error(err.message, { problems: err.problems });
    else throw err;
    return 1;
  }
  const sql = connectPostgres(config.databaseUrl, { max: 1, appName: "nostr-relay-admin" });
  try {
    const { user, created } = await createOrResetAdmin({ sql }, email, password);
    log.info(created ? "created admin" : "reset admin password", {
      id: user.id,
      email: user.email,
    });
    return 0;
  } catch (err) {
    const text = errorText(err);
    log.error(err instanceof ServiceError ? text : `Cannot create admin: ${text}`, {
      database: config.databaseUrl.replace(/:[^:@/]*@/, ":***@"),
    });
    return 1;
  } finally {
    await sql.end();
  }
}

Deno.exitCode = await main(Deno.args);
