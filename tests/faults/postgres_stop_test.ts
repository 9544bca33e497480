/**
 * PostgreSQL stopped under a steady stream of EVENTs (a private cluster, never the shared one):
 * every EVENT is answered within a bound, those the database could not take with `error:`; once
 * PostgreSQL is back the relay accepts events again by itself, and what it acknowledged is kept.
 */
import assert from "node:assert/strict";
import { connectPostgres } from "../../lib/db.ts";
import type { NostrEvent } from "../../lib/nostr/event.ts";
import { signer, TestClient } from "../_client.ts";
import { OkLog } from "./_oks.ts";
import { PrivatePostgres, sharedStores, startWebProc, startWorkerProc } from "./_procs.ts";

/** The worker's bound on storing one event: max(QUERY_TIMEOUT_MS, 5 s) (workers/new_event.ts). */
const STORE_DEADLINE_MS = 5000;
/** Slack for queueing, pub/sub and a loaded 2-core machine. */
const SLACK_MS = 3000;
/**
 * Longest time for the relay to accept events again once PostgreSQL is back: lib/db.ts caps
 * postgres.js's pause between reconnection attempts at 1 s (its default grows to 10-20 s).
 */
const RECOVERY_MS = 10_000;
/** Interval between EVENTs of the steady publisher (50 EVENTs/s). */
const EVERY_MS = 20;
/**
 * Every EVENT is answered within the store deadline of its sending, during the outage too: a
 * connection attempt to the stopped database is refused at once (or fails within lib/db.ts
 * CONNECT_TIMEOUT_S) and rejects the query waiting for it, and attempts are at most 1 s apart.
 * (Under a longer outage than this test's, queries still queue behind those attempts and a job
 * may wait its whole deadline: docs/OPERATIONS.md "Fault behaviour".) FAULT_PG_FAILFAST=0
 * relaxes the bound to the deadline of max(sent, recovered).
 */
const FAILFAST = Deno.env.get("FAULT_PG_FAILFAST") !== "0";

Deno.test({
  name: "fault - stop PostgreSQL under load: bounded error: answers, recovery by itself",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using pg = new PrivatePostgres();
    await pg.init();
    const databaseUrl = await pg.database("nostr_fault");
    await using stores = await sharedStores();
    // QUERY_TIMEOUT_MS below 5 s: the store deadline is its 5 s floor.
    const env = { ...stores.env, DATABASE_URL: databaseUrl, QUERY_TIMEOUT_MS: "3000" };
    await using worker = await startWorkerProc(env);
    await using web = await startWebProc(env);
    const alice = signer();

    // A steady publisher: one EVENT every EVERY_MS, with the time each was sent and answered.
    await using pub = await TestClient.connect(web.url);
    const oks = new OkLog(pub);
    const sent: NostrEvent[] = [];
    const sentAt = new Map<string, number>();
    const answeredAt = new Map<string, number>();
    pub.socket.addEventListener("message", (m) => {
      const f = JSON.parse(String(m.data));
      if (f[0] === "OK" && !answeredAt.has(f[1])) answeredAt.set(f[1], Date.now());
    });
    const load = setInterval(() => {
      if (sent.length >= 2000) return;
      const e = alice.sign({ content: `load ${sent.length}` });
      sent.push(e);
      sentAt.set(e.id, Date.now());
      pub.send(["EVENT", e]);
    }, EVERY_MS);
    const sentAfter = (t: number) => sent.filter((e) => sentAt.get(e.id)! > t);
    try {
      await oks.until(
        () => sent.filter((e) => oks.first(e.id)?.ok).length >= 20,
        10_000,
        "load accepted",
      );

      await pg.stop("fast");
      const stoppedAt = Date.now();
      // The first EVENT sent while PostgreSQL is down is refused with error: within the deadline.
      const firstDown = await oks.until(
        () => sentAfter(stoppedAt).some((e) => oks.first(e.id)?.msg.startsWith("error: ")),
        STORE_DEADLINE_MS + SLACK_MS,
        "an error: answer while PostgreSQL is down",
      ).then(() => sentAfter(stoppedAt)[0]!);
      const a = oks.first(firstDown.id)!;
      assert.equal(a.ok, false);
      assert.match(a.msg, /^error: /);
      assert.ok(worker.running && web.proc.running);

      await pg.start();
      const restartedAt = Date.now();
      // The relay recovers by itself: an event sent after the restart is accepted.
      await oks.until(
        () => sentAfter(restartedAt).some((e) => oks.first(e.id)?.ok),
        RECOVERY_MS,
        "an EVENT accepted after PostgreSQL came back",
      ).catch((err) => {
        const state = `publisher socket state ${pub.socket.readyState}, ${sent.length} sent`;
        throw new Error(`${err.message}; ${state}${worker.tail(5)}${web.proc.tail(5)}`);
      });
      const recoveredAt = Math.min(
        ...sentAfter(restartedAt).filter((e) => oks.first(e.id)?.ok).map((e) =>
          answeredAt.get(e.id)!
        ),
      );
      clearInterval(load);
      const limit = STORE_DEADLINE_MS + SLACK_MS;
      await oks.all(sent.map((e) => e.id), limit);

      // No EVENT waited past the bound (no hang); refusals carry error:.
      for (const e of sent) {
        const from = FAILFAST ? sentAt.get(e.id)! : Math.max(sentAt.get(e.id)!, recoveredAt);
        const late = answeredAt.get(e.id)! - from;
        const waited = answeredAt.get(e.id)! - sentAt.get(e.id)!;
        assert.ok(late <= limit, `EVENT ${e.id} answered after ${waited} ms`);
        const answer = oks.first(e.id)!;
        if (!answer.ok) assert.match(answer.msg, /^error: /);
      }

      // Everything acknowledged is stored, once; what was refused is accepted when resent.
      const sql = connectPostgres(databaseUrl, { max: 1 });
      try {
        const rows = await sql<{ id: string }[]>`select encode(event_id, 'hex') as id from events`;
        const stored = new Set(rows.map((r) => r.id));
        assert.equal(stored.size, rows.length);
        for (const e of sent) if (oks.first(e.id)!.ok) assert.ok(stored.has(e.id), e.id);
        const refused = sent.filter((e) => !oks.first(e.id)!.ok);
        await using again = await TestClient.connect(web.url);
        const oks2 = new OkLog(again);
        for (const e of refused) again.send(["EVENT", e]);
        await oks2.all(refused.map((e) => e.id), 20_000);
        for (const e of refused) {
          const r = oks2.first(e.id)!;
          assert.ok(r.ok || r.msg.startsWith("duplicate:"), `resent ${e.id}: ${r.msg}`);
        }
        const [count] = await sql<{ n: number }[]>`select count(*)::int as n from events`;
        assert.equal(count?.n, sent.length);
      } finally {
        await sql.end();
      }
      assert.ok(worker.running && web.proc.running, "no process crashed");
    } finally {
      clearInterval(load);
    }
  },
});
