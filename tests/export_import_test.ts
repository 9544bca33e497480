/**
 * `deno task export` and `deno task import`, run as the tasks run them: every stored event of one
 * relay is exported, imported into a fresh relay through its worker (the rules of EVENT), and the
 * same events arrive; tampered and malformed lines are refused with their reason.
 */
import assert from "node:assert/strict";
import type { Sql } from "../lib/db.ts";
import type { NostrEvent } from "../lib/nostr/event.ts";
import { now, signer, TestClient } from "./_client.ts";
import { startRelay } from "./_harness.ts";
import { ROOT, taskCommand } from "./faults/_procs.ts";

/** Runs `deno task <task>` as a process (same flags as deno.json) with `stdin` as input. */
async function runTask(
  task: string,
  env: Record<string, string>,
  args: string[] = [],
  stdin = "",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { flags, script } = await taskCommand(task);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, script, ...args],
    cwd: ROOT,
    env: { LOG_LEVEL: "error", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function storedRaw(relay: { sql: Sql }): Promise<string[]> {
  const rows = await relay.sql<{ raw: string }[]>`select raw from events order by id`;
  return rows.map((r) => r.raw);
}

Deno.test({
  name: "export/import - events move to a fresh relay through the EVENT rules",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using source = await startRelay();
    await using target = await startRelay();
    const alice = signer();
    const bob = signer();
    const t0 = now() - 500;
    const published: NostrEvent[] = [
      alice.sign({ created_at: t0, content: "first", tags: [["t", "intro"]] }),
      alice.sign({ created_at: t0 + 1, kind: 0, content: '{"name":"alice"}' }),
      alice.sign({ created_at: t0 + 2, kind: 0, content: '{"name":"alice v2"}' }),
      bob.sign({ created_at: t0 + 3, kind: 30023, tags: [["d", "post"]], content: "ünïcödé 🎉" }),
      bob.sign({ created_at: t0 + 4, content: "to be deleted" }),
      alice.sign({ created_at: t0 + 5, kind: 7, tags: [["p", bob.pubkey]], content: "+" }),
      alice.sign({
        created_at: t0 + 6,
        tags: [["expiration", String(now() + 3600)]],
        content: "expires later",
      }),
    ];
    const deletion = bob.sign({ created_at: t0 + 7, kind: 5, tags: [["e", published[4]!.id]] });
    await using c = await TestClient.connect(source.url);
    for (const e of [...published, deletion]) assert.equal((await c.publish(e))[2], true);
    const expected = await storedRaw(source);
    // The old profile was replaced and the deleted note removed: 6 rows remain.
    assert.equal(expected.length, 6);

    const sourceEnv = { DATABASE_URL: source.config.databaseUrl };
    let exported = "";
    await t.step("export writes each stored event once, as stored, one per line", async () => {
      const res = await runTask("export", sourceEnv);
      assert.equal(res.code, 0, res.stderr);
      exported = res.stdout;
      assert.deepEqual(exported.trimEnd().split("\n"), expected);
      assert.match(res.stderr, /"exported":6/);
    });

    await t.step("--since and --until bound created_at", async () => {
      const res = await runTask("export", sourceEnv, [
        "--since",
        `${t0 + 3}`,
        "--until",
        `${t0 + 5}`,
      ]);
      assert.equal(res.code, 0, res.stderr);
      const times = res.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).created_at);
      assert.deepEqual(times, [t0 + 3, t0 + 5]);
      const bad = await runTask("export", sourceEnv, ["--since", "yesterday"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--since must be a unix time/);
    });

    await t.step("import stores the same events and reports what it refused", async () => {
      const first = JSON.parse(expected[0]!) as NostrEvent;
      const tamperedContent = JSON.stringify({ ...first, content: "tampered" });
      const tamperedSig = JSON.stringify({
        ...first,
        sig: first.sig.slice(0, -2) + (first.sig.endsWith("00") ? "11" : "00"),
      });
      const input = [
        exported.trimEnd(),
        tamperedContent,
        "not json at all",
        "",
        expected[1]!, // the same event twice
      ].join("\n") + "\n";
      // The tampered signature goes first, before the real event is stored.
      const res = await runTask(
        "import",
        { REDIS_URL: target.config.redisUrl, REDIS_PREFIX: target.config.redisPrefix },
        ["--in-flight", "1"],
        `${tamperedSig}\n${input}`,
      );
      assert.equal(res.code, 0, res.stderr);
      const summary = JSON.parse(res.stdout);
      assert.deepEqual(summary, {
        accepted: 6,
        duplicate: 1,
        rejected: {
          "invalid: bad signature": 1,
          "invalid: event id does not match its content": 1,
          "invalid: line is not JSON": 1,
        },
      });
      assert.match(res.stderr, /"line":1,"reason":"invalid: bad signature"/);
      assert.deepEqual(await storedRaw(target), expected);
    });

    await t.step("importing again finds every event a duplicate", async () => {
      const res = await runTask(
        "import",
        { REDIS_URL: target.config.redisUrl, REDIS_PREFIX: target.config.redisPrefix },
        [],
        exported,
      );
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(JSON.parse(res.stdout), { accepted: 0, duplicate: 6, rejected: {} });
    });

    await t.step("import without a worker fails with a clear message", async () => {
      const res = await runTask(
        "import",
        {
          REDIS_URL: target.config.redisUrl,
          REDIS_PREFIX: `${target.config.redisPrefix}nobody:`,
        },
        ["--timeout", "2"],
        expected[0]! + "\n",
      );
      assert.equal(res.code, 1);
      assert.match(res.stderr, /no answer from a worker/);
    });
  },
});
