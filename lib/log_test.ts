import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";

/** Runs a few log calls in a subprocess at `level` and returns the JSON lines it wrote. */
async function linesAt(level: string): Promise<Record<string, unknown>[]> {
  const script = `
    import { createLogger } from "${new URL("./log.ts", import.meta.url).href}";
    const log = createLogger("web", ${JSON.stringify(level)}).child({ cid: "c1" });
    log.debug("d"); log.info("i"); log.warn("w"); log.error("e", { extra: 1 });`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

Deno.test("createLogger() writes lines at or above its level, each with the child's cid", async () => {
  const warn = await linesAt("warn");
  assert.deepEqual(warn.map((l) => l.msg).sort(), ["e", "w"]);
  for (const l of warn) {
    assert.equal(l.cid, "c1");
    assert.equal(l.proc, "web");
  }
  assert.equal(warn.find((l) => l.msg === "e")?.extra, 1);
  const debug = await linesAt("debug");
  assert.deepEqual(debug.map((l) => l.msg).sort(), ["d", "e", "i", "w"]);
});

Deno.test("LOG_LEVEL is read by loadConfig() and validated", () => {
  assert.equal(loadConfig({ LOG_LEVEL: "debug" }).logLevel, "debug");
  assert.equal(loadConfig({}).logLevel, "info");
  assert.throws(() => loadConfig({ LOG_LEVEL: "loud" }));
});
