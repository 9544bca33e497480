/**
 * `deno task start`: the web process (relay websockets, NIP-11, health check, admin UI). Loads
 * and validates the configuration, starts serving, and shuts down cleanly on SIGTERM or SIGINT.
 *
 * @module
 */
import { type Config, ConfigError, loadConfig } from "./lib/config.ts";
import { createLogger, errorText } from "./lib/log.ts";
import { startWeb, type WebHandle } from "./relay/server.ts";
import { type AdminHandle, startAdmin } from "./routes/_app.ts";

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  createLogger("web").error(err.message, { problems: err.problems });
  Deno.exit(1);
}

const log = createLogger("web", config.logLevel);
let web: WebHandle;
let admin: AdminHandle | undefined;
try {
  admin = await startAdmin({ config, log });
  web = await startWeb({ config, log, admin: admin.handler });
} catch (err) {
  await admin?.close();
  log.error(errorText(err));
  Deno.exit(1);
}

let stopping = false;
async function stop(signal: Deno.Signal): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal });
  await web.close();
  await admin?.close();
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"));
Deno.addSignalListener("SIGINT", () => void stop("SIGINT"));
