/**
 * Docker cannot run on our machines, so the deployment files are checked here for what can be
 * checked: compose.yaml parses and wires postgres, redis, migrate, web and worker with health
 * checks and volumes; every process runs a `deno task` of deno.json (hence its permission list);
 * the Dockerfile pins our Deno version, runs as a non-root user, installs from the lockfile and
 * copies every file the entry points import.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- a test-only parser; keep it out of the runtime import map
import { parse } from "npm:yaml@2.9.1";
import { ROOT, run } from "./faults/_procs.ts";

// deno-lint-ignore no-explicit-any
type Yaml = any;

const tasks: Record<string, string> = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks;
const compose: Yaml = parse(await Deno.readTextFile(`${ROOT}compose.yaml`), { merge: true });
const dockerfile = await Deno.readTextFile(`${ROOT}Dockerfile`);
/** Dockerfile instructions with their continuation lines joined, comments dropped. */
const instructions = dockerfile.replace(/\\\n/g, " ").split("\n")
  .map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));

Deno.test("compose.yaml - services, images, health checks and volumes", () => {
  const s = compose.services;
  assert.deepEqual(Object.keys(s).sort(), ["migrate", "postgres", "redis", "web", "worker"]);
  assert.match(s.postgres.image, /^postgres:15(\.|$|-)/);
  assert.match(s.redis.image, /^redis:7(\.|$|-)/);
  const redisCmd: string[] = s.redis.command;
  assert.equal(redisCmd[redisCmd.indexOf("--appendonly") + 1], "yes");
  assert.equal(redisCmd[redisCmd.indexOf("--maxmemory-policy") + 1], "noeviction");
  for (const name of ["postgres", "redis", "web", "worker"]) {
    assert.ok(s[name].healthcheck?.test, `${name} has a health check`);
  }
  assert.ok(s.web.healthcheck.test.join(" ").includes("/healthz"), "web is checked on /healthz");
  const port = s.worker.environment.METRICS_PORT;
  assert.ok(
    s.worker.healthcheck.test.join(" ").includes(`:${port}/healthz`),
    "the worker is checked on /healthz of its METRICS_PORT",
  );
  const declared = Object.keys(compose.volumes ?? {});
  assert.ok(declared.length >= 2);
  for (const [name, svc] of Object.entries<Yaml>(s)) {
    for (const v of svc.volumes ?? []) {
      const source = String(v).split(":")[0]!;
      assert.ok(declared.includes(source), `${name} mounts the named volume ${source}`);
    }
  }
  assert.ok(s.postgres.volumes.some((v: string) => v.endsWith(":/var/lib/postgresql/data")));
  assert.ok(s.redis.volumes.some((v: string) => v.endsWith(":/data")));
});

Deno.test("compose.yaml - relay processes run deno tasks, in order, on one image", () => {
  const s = compose.services;
  const expected: Record<string, string> = { migrate: "migrate", web: "start", worker: "worker" };
  for (const [service, task] of Object.entries(expected)) {
    assert.deepEqual(s[service].command, ["deno", "task", task], `${service} runs deno task`);
    assert.ok(tasks[task], `deno.json has the task ${task}`);
    assert.equal(s[service].image, s.web.image, `${service} uses the relay image`);
    assert.equal(s[service].build, ".", `${service} is built from the Dockerfile`);
    assert.ok(s[service].environment.DATABASE_URL.includes("@postgres:5432/"));
    assert.equal(s[service].environment.REDIS_URL, "redis://redis:6379");
  }
  assert.equal(s.migrate.restart, "no");
  for (const service of ["web", "worker"]) {
    assert.equal(s[service].depends_on.migrate.condition, "service_completed_successfully");
    assert.equal(s[service].depends_on.redis.condition, "service_healthy");
  }
  assert.equal(s.migrate.depends_on.postgres.condition, "service_healthy");
  assert.ok(s.web.ports.some((p: string) => String(p).endsWith(":3000")));
  assert.equal(s.web.environment.PORT, "3000");
});

Deno.test("Dockerfile - pinned Deno, locked install, non-root, the deno.json tasks", async () => {
  const ci = await Deno.readTextFile(`${ROOT}.ci/run`);
  const version = /DENO_VERSION=(\S+)/.exec(ci)![1];
  assert.ok(instructions.includes(`ARG DENO_VERSION=${version}`), `Deno ${version} as in .ci/run`);
  assert.ok(
    instructions.some((l) => /^RUN .*deno install --frozen/.test(l)),
    "deno install --frozen",
  );
  const user = instructions.filter((l) => l.startsWith("USER ")).at(-1);
  assert.ok(user && !/^USER (root|0)(:|$)/.test(user), "the final stage runs as a non-root user");
  const cmd = instructions.filter((l) => l.startsWith("CMD ")).at(-1)!;
  assert.deepEqual(JSON.parse(cmd.slice(4)), ["deno", "task", "start"]);
  assert.ok(!instructions.some((l) => / -A\b|--allow-all/.test(l)), "no blanket permissions");
  const froms = instructions.filter((l) => l.startsWith("FROM "));
  assert.match(froms.at(-1)!, /^FROM debian:[\w.-]+-slim$/, "a slim final image");
});

Deno.test("Dockerfile - copies every local module the entry points import", async () => {
  const copied = instructions.filter((l) => l.startsWith("COPY ") && !l.includes("--from="))
    .flatMap((l) => l.slice(5).split(/\s+/).slice(0, -1))
    .map((p) => p.replace(/\/$/, ""));
  // The script of every `deno run` task the image may run, and the browser bundle's entry.
  const entries = ["start", "worker", "migrate", "export", "import", "admin", "build"]
    .filter((t) => tasks[t]).map((t) => tasks[t]!.trim().split(/\s+/).at(-1)!);
  for (const entry of entries) {
    const info = JSON.parse(await run(Deno.execPath(), ["info", "--json", `${ROOT}${entry}`]));
    for (const m of info.modules as { specifier: string }[]) {
      if (!m.specifier.startsWith("file://")) continue;
      const path = decodeURIComponent(new URL(m.specifier).pathname).slice(ROOT.length);
      const top = path.split("/")[0]!;
      assert.ok(
        copied.includes(path) || copied.includes(top),
        `the Dockerfile does not COPY ${path} (imported by ${entry})`,
      );
    }
  }
  for (const file of ["deno.json", "deno.lock"]) assert.ok(copied.includes(file), file);
  // A task that the start task runs first (the islands bundle) runs at build time too.
  for (const [, step] of tasks.start!.matchAll(/deno task (\S+) &&/g)) {
    assert.ok(
      instructions.some((l) => l.startsWith("RUN ") && l.includes(`deno task ${step}`)),
      `the Dockerfile runs deno task ${step}`,
    );
  }
});
