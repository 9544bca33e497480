/**
 * `deno task dev`: one command for a local run. Checks that PostgreSQL and Redis answer (naming
 * whichever does not), creates and migrates the database, then runs the web process and one
 * worker until Ctrl-C.
 */
import { type Config, ConfigError, loadConfig } from "../lib/config.ts";
import { connectPostgres, ensureDatabase, migrate, readMigrations } from "../lib/db.ts";
import { createLogger, errorText } from "../lib/log.ts";
import { Redis } from "../lib/redis.ts";

const log = createLogger("dev");
let config: Config;
try {
  config = loadConfig();
} catch (err) {
  log.error(err instanceof ConfigError ? err.message : errorText(err));
  Deno.exit(1);
}
const safeDb = config.databaseUrl.replace(/:[^:@/]*@/, ":***@");

async function checkRedis(url: string): Promise<string | null> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (err) {
    return `Cannot reach Redis at ${url}: ${
      errorText(err)
    }. Start it with: redis-server --daemonize yes`;
  } finally {
    redis.disconnect();
  }
}

async function prepareDatabase(): Promise<string | null> {
  try {
    if (await ensureDatabase(config.databaseUrl)) {
      log.info("created database", { database: safeDb });
    }
    const sql = connectPostgres(config.databaseUrl, { max: 1, appName: "nostr-relay-dev" });
    try {
      const applied = await migrate(
        sql,
        await readMigrations(new URL("../migrations/", import.meta.url)),
      );
      if (applied.length) log.info("applied migrations", { applied });
    } finally {
      await sql.end();
    }
    return null;
  } catch (err) {
    return `Cannot prepare PostgreSQL at ${safeDb}: ${
      errorText(err)
    }. Set DATABASE_URL or start PostgreSQL`;
  }
}

const problems = (await Promise.all([checkRedis(config.redisUrl), prepareDatabase()])).filter(
  Boolean,
);
if (problems.length) {
  for (const p of problems) log.error(p!);
  Deno.exit(1);
}

const children = ["start", "worker"].map((task) =>
  new Deno.Command(Deno.execPath(), { args: ["task", "-q", task], stdin: "null" }).spawn()
);
log.info("relay running", { url: config.relayUrl, port: config.port });
function stopAll() {
  for (const c of children) {
    try {
      c.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
}
for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, stopAll);
// When either process ends, stop the other: a half-running relay is worse than none.
const first = await Promise.race(children.map((c) => c.status));
if (!first.success) log.error("a relay process exited; stopping the other", { code: first.code });
stopAll();
const statuses = await Promise.all(children.map((c) => c.status));
Deno.exit(statuses.every((s) => s.success) ? 0 : 1);
