/**
 * `deno task worker`: loads the configuration, starts the BullMQ worker process and stops it
 * cleanly on SIGTERM or SIGINT (a second signal, or a close taking longer than
 * SHUTDOWN_TIMEOUT_MS, exits at once). Needs only --allow-net and --allow-env.
 *
 * @module
 */
import { type Config, ConfigError, loadConfig } from "../lib/config.ts";
import { createLogger, errorText } from "../lib/log.ts";
import { startWorker, type WorkerHandle } from "./worker.ts";

/** Longest wait for active jobs and connections to finish after a stop signal. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger("worker").error(err.message, { problems: err.problems });
    Deno.exit(1);
  }
}

const config = configOrExit();
const log = createLogger("worker", config.logLevel);
let handle: WorkerHandle | undefined;
let stopping: Deno.Signal | undefined;

/** Closes the worker and exits 0, within SHUTDOWN_TIMEOUT_MS. */
function shutdown(worker: WorkerHandle) {
  const timer = setTimeout(function shutdownTimeout() {
    log.error("Cannot stop worker cleanly: timed out", { ms: SHUTDOWN_TIMEOUT_MS });
    Deno.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  worker.close().then(
    function closed() {
      clearTimeout(timer);
      Deno.exit(0);
    },
    function closeFailed(err) {
      log.error("Cannot stop worker cleanly", { error: errorText(err) });
      Deno.exit(1);
    },
  );
}

// Listeners go first, so a signal during start-up is handled once the worker is up.
function stop(signal: Deno.Signal) {
  if (stopping) {
    log.warn("second stop signal, exiting now", { signal });
    Deno.exit(1);
  }
  stopping = signal;
  log.info("stopping worker", { signal });
  if (handle) shutdown(handle);
}
Deno.addSignalListener("SIGTERM", function onSigterm() {
  stop("SIGTERM");
});
Deno.addSignalListener("SIGINT", function onSigint() {
  stop("SIGINT");
});

try {
  handle = await startWorker({ config, log });
} catch (err) {
  log.error("Cannot start worker", { error: errorText(err) });
  Deno.exit(1);
}
if (stopping) shutdown(handle);
