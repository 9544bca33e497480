/**
 * The PostgreSQL pool of lib/db.ts against a database that stays down for a while (a private
 * cluster): queries fail fast during the outage, and the pool is usable again within about a
 * second of the restart (postgres.js's default backoff would wait up to 20 s by then).
 */
import assert from "node:assert/strict";
import { connectPostgres, MAX_BACKOFF_S, reconnectBackoff } from "../../lib/db.ts";
import { PrivatePostgres } from "./_procs.ts";

Deno.test("reconnectBackoff() grows from 0.1 s and stays at or below MAX_BACKOFF_S", () => {
  assert.equal(reconnectBackoff(1), 0.1);
  assert.ok(reconnectBackoff(3) < reconnectBackoff(4));
  for (const n of [5, 10, 100, 10_000]) assert.ok(reconnectBackoff(n) <= MAX_BACKOFF_S);
});

Deno.test({
  name: "fault - PostgreSQL down for 8 s: queries fail fast, the pool reconnects within 2 s",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using pg = new PrivatePostgres();
    await pg.init();
    const sql = connectPostgres(await pg.database("nostr_reconnect"), { max: 2 });
    try {
      await sql`select 1`;
      await pg.stop("fast");
      // One query at a time through the outage: each fails well within the connect timeout.
      const until = Date.now() + 8000;
      let failures = 0;
      while (Date.now() < until) {
        const t = Date.now();
        await assert.rejects(sql`select 1`);
        assert.ok(Date.now() - t < 3000, `a query took ${Date.now() - t} ms to fail`);
        failures++;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(failures >= 5, `${failures} failed attempts`);
      await pg.start();
      const restarted = Date.now();
      for (;;) {
        try {
          await sql`select 1`;
          break;
        } catch {
          assert.ok(Date.now() - restarted < 2000, "the pool reconnects within 2 s");
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      assert.ok(Date.now() - restarted < 2000, `reconnected after ${Date.now() - restarted} ms`);
    } finally {
      await sql.end({ timeout: 1 });
    }
  },
});
