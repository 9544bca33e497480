/**
 * Structured JSON logs, one object per line on stderr (info and below go to stdout).
 *
 * @module
 */

/** Log levels in increasing order of severity. */
export const LEVELS = ["debug", "info", "warn", "error"] as const;
export type Level = typeof LEVELS[number];

/** Fields attached to a log line; `cid` names a connection. */
export type Fields = Record<string, unknown>;

/** A logger bound to a process name and optional fixed fields. */
export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

/** Turns an unknown thrown value into a loggable string. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

const encoder = new TextEncoder();

/** Creates a logger that writes lines at or above `level`. */
export function createLogger(
  proc: string,
  level: Level = "info",
  base: Fields = {},
): Logger {
  const min = LEVELS.indexOf(level);
  function write(lvl: Level, msg: string, fields?: Fields) {
    if (LEVELS.indexOf(lvl) < min) return;
    const line = JSON.stringify({
      ts: new Date().toISOString(),
      level: lvl,
      proc,
      msg,
      ...base,
      ...fields,
    });
    const out = lvl === "warn" || lvl === "error" ? Deno.stderr : Deno.stdout;
    try {
      out.writeSync(encoder.encode(line + "\n"));
    } catch {
      // stdout closed: nothing sensible left to do with a log line
    }
  }
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger(proc, level, { ...base, ...fields }),
  };
}
