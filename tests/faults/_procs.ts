/**
 * Real processes for fault tests: the web process and workers started exactly as their
 * `deno task` runs them (same permission flags, read from deno.json), a private Redis server and
 * a private PostgreSQL cluster that tests may kill and restart without touching the machine's
 * shared ones. Every wait is bounded and waits for a log line or a state, never a fixed time.
 *
 * @module
 */
import { redisKeys } from "../../lib/contract.ts";
import { connectPostgres, ensureDatabase, migrate, readMigrations } from "../../lib/db.ts";
import { connectRedis, type Redis } from "../../lib/redis.ts";
import { deletePrefix, freshDatabase } from "../_harness.ts";

/** The repository root (the working directory of every relay process, as for `deno task`). */
export const ROOT = new URL("../../", import.meta.url).pathname;
const SHARED_REDIS = Deno.env.get("TEST_REDIS_URL") ?? "redis://127.0.0.1:6379";

/** A parsed JSON log line of a relay process (non-JSON lines become `{ msg: line }`). */
// deno-lint-ignore no-explicit-any
export type LogLine = Record<string, any>;

/** Resolves with `p`, or rejects naming `what` after `ms`. */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Polls `check` (every `everyMs`) until it returns a value other than undefined/false, or
 * fails after `ms` naming `what`. For states that announce themselves nowhere (rows in a
 * table, keys in Redis).
 */
export async function waitUntil<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms: number,
  what: string,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`Timed out after ${ms} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Runs a command to completion; throws with its output when it fails. */
export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`Cannot run ${cmd} ${args.join(" ")}: exit ${out.code}\n${text}${err}`);
  }
  return text;
}

/**
 * The `deno run` flags and script of a deno.json task (without --env-file). A task that runs
 * steps first (`deno task build && deno run ...`) gives its `deno run` step.
 */
export async function taskCommand(task: string): Promise<{ flags: string[]; script: string }> {
  const json = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const steps = String(json.tasks[task]).split("&&").map((s) => s.trim().split(/\s+/));
  const words = steps.find((w) => w[0] === "deno" && w[1] === "run");
  if (!words) throw new Error(`Cannot read task ${task}: no "deno run" step`);
  const rest = words.slice(2);
  const script = rest.pop()!;
  return { flags: rest.filter((w) => !w.startsWith("--env-file")), script };
}

/** A child process with its output read line by line. */
export class Proc implements AsyncDisposable {
  readonly lines: LogLine[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  #exited = false;

  /** `env` is all the process gets besides PATH, HOME and Deno's cache location. */
  constructor(readonly name: string, cmd: string, args: string[], env: Record<string, string>) {
    const base: Record<string, string> = {};
    for (const key of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR", "NO_COLOR"]) {
      const value = Deno.env.get(key);
      if (value !== undefined) base[key] = value;
    }
    this.#child = new Deno.Command(cmd, {
      args,
      env: { ...base, ...env },
      clearEnv: true,
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.status = this.#child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    void this.#read(this.#child.stdout);
    void this.#read(this.#child.stderr);
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** True while the process has not exited. */
  get running(): boolean {
    return !this.#exited;
  }

  async #read(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const bytes of stream) {
      buf += decoder.decode(bytes, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        this.#line(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
    if (buf) this.#line(buf);
  }

  #line(text: string) {
    let line: LogLine;
    try {
      const parsed = JSON.parse(text);
      line = typeof parsed === "object" && parsed !== null ? parsed : { msg: text };
    } catch {
      line = { msg: text };
    }
    this.lines.push(line);
    if (this.lines.length > 2000) this.lines.splice(0, 1000);
    const waiter = this.#waiters.find((w) => w.pred(line));
    if (!waiter) return;
    this.#waiters = this.#waiters.filter((w) => w !== waiter);
    waiter.resolve(line);
  }

  /** The first log line (already printed or to come) matching `pred`, within `ms`. */
  waitForLine(pred: (l: LogLine) => boolean, ms: number, what: string): Promise<LogLine> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    const p = new Promise<LogLine>((resolve) => this.#waiters.push({ pred, resolve }));
    const dead = this.status.then((s) => {
      throw new Error(`${this.name} exited (code ${s.code}) before ${what}${this.tail()}`);
    });
    return bounded(Promise.race([p, dead]), ms, `${this.name}: ${what}${this.tail()}`);
  }

  /** The last lines of output, for error messages. */
  tail(n = 15): string {
    return `\n--- last lines of ${this.name} ---\n` +
      this.lines.slice(-n).map((l) => JSON.stringify(l)).join("\n");
  }

  /** Sends `signal` (no-op once exited). */
  kill(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // exited in between
    }
  }

  /** Waits for the exit status, at most `ms`. */
  exit(ms: number): Promise<Deno.CommandStatus> {
    return bounded(this.status, ms, `${this.name} to exit${this.tail()}`);
  }

  /** User + system CPU time used so far, in seconds (Linux /proc, read with cat: Deno needs
   * --allow-all to read /proc itself). */
  async cpuSeconds(): Promise<number> {
    const stat = await run("cat", [`/proc/${this.pid}/stat`]);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[11] and [12] are utime and stime (fields 14 and 15 of proc(5)), in 1/100 s
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.kill("SIGKILL");
    await this.status;
  }
}

/** Environment of relay processes started by a fault test. */
export type RelayEnv = Record<string, string>;

/** A web process (`deno task start`) and what it announced. */
export interface WebProc extends AsyncDisposable {
  proc: Proc;
  port: number;
  node: string;
  url: string;
  httpUrl: string;
}

async function spawnTask(name: string, task: string, env: RelayEnv): Promise<Proc> {
  const { flags, script } = await taskCommand(task);
  return new Proc(name, Deno.execPath(), ["run", ...flags, script], {
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: "info",
    DATABASE_POOL: "4",
    RATE_LIMITING_MAX_REQUESTS: "0",
    // several workers run at once: no fixed metrics port unless a test asks for one
    METRICS_PORT: "0",
    ...env,
  });
}

/** Starts `deno task start` and waits until it listens. */
export async function startWebProc(env: RelayEnv, name = "web"): Promise<WebProc> {
  const proc = await spawnTask(name, "start", env);
  try {
    const line = await proc.waitForLine((l) => l.msg === "web process listening", 30_000, "listen");
    const port = Number(line.port);
    return {
      proc,
      port,
      node: String(line.node),
      url: `ws://127.0.0.1:${port}`,
      httpUrl: `http://127.0.0.1:${port}`,
      [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose](),
    };
  } catch (err) {
    await proc[Symbol.asyncDispose]();
    throw err;
  }
}

/** Starts `deno task worker` and waits until its queues are open. */
export async function startWorkerProc(env: RelayEnv, name = "worker"): Promise<Proc> {
  const proc = await spawnTask(name, "worker", env);
  try {
    await proc.waitForLine((l) => l.msg === "worker started", 30_000, "start");
    return proc;
  } catch (err) {
    await proc[Symbol.asyncDispose]();
    throw err;
  }
}

/** GET /healthz within `ms`; true when it answered 200. */
export async function healthy(httpUrl: string, ms = 2000): Promise<boolean> {
  try {
    const res = await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(ms) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** A fresh database on the shared PostgreSQL and a fresh prefix on the shared Redis. */
export interface SharedStores extends AsyncDisposable {
  env: RelayEnv;
  databaseUrl: string;
  prefix: string;
  keys: ReturnType<typeof redisKeys>;
  redis: Redis;
}

/** Creates a migrated database and a Redis prefix; disposing removes both. */
export async function sharedStores(): Promise<SharedStores> {
  const db = await freshDatabase();
  const prefix = `tf${crypto.randomUUID().slice(0, 8)}:`;
  const redis = connectRedis(SHARED_REDIS);
  return {
    env: { DATABASE_URL: db.url, REDIS_URL: SHARED_REDIS, REDIS_PREFIX: prefix },
    databaseUrl: db.url,
    prefix,
    keys: redisKeys(prefix),
    redis,
    async [Symbol.asyncDispose]() {
      await deletePrefix(redis, prefix).catch(() => {});
      redis.disconnect();
      await db.drop();
    },
  };
}

/** A private redis-server that a test may kill and restart. */
export class PrivateRedis implements AsyncDisposable {
  readonly port = freePort();
  readonly url = `redis://127.0.0.1:${this.port}`;
  #proc: Proc | undefined;

  /** Starts (or restarts) the server, empty, and waits until it accepts connections. */
  async start(): Promise<void> {
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
    ];
    this.#proc = new Proc("redis", "redis-server", args, {});
    await this.#proc.waitForLine(
      (l) => String(l.msg).includes("Ready to accept connections"),
      10_000,
      "redis ready",
    );
  }

  /** Kills the server with `signal` and waits for it to exit. */
  async stop(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    this.#proc?.kill(signal);
    await this.#proc?.exit(10_000);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#proc?.[Symbol.asyncDispose]();
  }
}

async function pgBin(): Promise<string> {
  const versions: number[] = [];
  for await (const e of Deno.readDir("/usr/lib/postgresql")) {
    if (e.isDirectory && /^\d+$/.test(e.name)) versions.push(Number(e.name));
  }
  const v = versions.sort((a, b) => b - a)[0];
  if (v === undefined) throw new Error("Cannot find PostgreSQL binaries in /usr/lib/postgresql");
  return `/usr/lib/postgresql/${v}/bin`;
}

/**
 * A throwaway PostgreSQL cluster in a temporary directory on a free port, run as the
 * `postgres` user when the tests run as root (initdb refuses root).
 */
export class PrivatePostgres implements AsyncDisposable {
  readonly port = freePort();
  #dir = "";
  #bin = "";
  #asRoot = false;

  /** The URL of database `name` on this cluster. */
  url(name: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
  }

  #pg(tool: string, args: string[]): Promise<string> {
    const path = `${this.#bin}/${tool}`;
    return this.#asRoot ? run("runuser", ["-u", "postgres", "--", path, ...args]) : run(path, args);
  }

  /** Creates the cluster and starts it. */
  async init(): Promise<void> {
    this.#bin = await pgBin();
    this.#asRoot = (await run("id", ["-u"])).trim() === "0";
    this.#dir = (await run("mktemp", ["-d", "/tmp/nostr-fault-pg-XXXXXX"])).trim();
    if (this.#asRoot) await run("chown", ["postgres:postgres", this.#dir]);
    await this.#pg("initdb", ["-D", `${this.#dir}/data`, "-U", "postgres", "--auth=trust", "-N"]);
    await this.start();
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.#dir} -c listen_addresses=127.0.0.1 -c fsync=off ` +
      `-c full_page_writes=off -c max_connections=50`;
    await this.#pg("pg_ctl", [
      "-D",
      `${this.#dir}/data`,
      "-o",
      opts,
      "-l",
      `${this.#dir}/log`,
      "-w",
      "-t",
      "30",
      "start",
    ]);
  }

  /** Stops the server (`fast`: disconnects clients, aborts their transactions). */
  async stop(mode: "fast" | "immediate" = "fast"): Promise<void> {
    await this.#pg("pg_ctl", ["-D", `${this.#dir}/data`, "-m", mode, "-w", "-t", "30", "stop"]);
  }

  /** Creates database `name` and applies the migrations; returns its URL. */
  async database(name: string): Promise<string> {
    const url = this.url(name);
    await ensureDatabase(url);
    const sql = connectPostgres(url, { max: 1 });
    try {
      await migrate(sql, await readMigrations(new URL("../../migrations/", import.meta.url)));
    } finally {
      await sql.end();
    }
    return url;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#dir) return;
    await this.stop("immediate").catch(() => {});
    await run("rm", ["-rf", this.#dir]);
  }
}
