/**
 * A real client library (nostr-tools' Relay) publishes, queries, subscribes live, counts,
 * searches and deletes against the relay.
 */
import assert from "node:assert/strict";
import { Relay } from "nostr-tools/relay";
import type { Filter } from "nostr-tools/filter";
import type { NostrEvent } from "../lib/nostr/event.ts";
import { startRelay } from "./_harness.ts";
import { signer } from "./_client.ts";

Deno.test({
  name: "nostr-tools client - publish, query, subscribe, count, search, delete",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using relay = await startRelay();
    const client = await Relay.connect(relay.url);
    const alice = signer();
    try {
      const note = alice.sign({ content: "hello from nostr-tools, searchable words here" });

      await t.step("publish resolves with the relay's OK", async () => {
        const reason = await client.publish(note);
        assert.equal(reason, "");
      });

      await t.step("a duplicate publish is rejected with duplicate:", async () => {
        await assert.rejects(client.publish(note), /duplicate:/);
      });

      await t.step("subscribe gets the stored event, EOSE, then a live one", async () => {
        const got: NostrEvent[] = [];
        let eose!: () => void;
        const eosed = new Promise<void>((r) => (eose = r));
        let live!: (e: NostrEvent) => void;
        const liveEvent = new Promise<NostrEvent>((r) => (live = r));
        const sub = client.subscribe([{ authors: [alice.pubkey] }], {
          onevent(e) {
            if (got.length && eosedFlag) live(e as NostrEvent);
            got.push(e as NostrEvent);
          },
          oneose: () => {
            eosedFlag = true;
            eose();
          },
        });
        let eosedFlag = false;
        await eosed;
        assert.deepEqual(got.map((e) => e.id), [note.id]);
        const second = alice.sign({ content: "second note" });
        await client.publish(second);
        assert.equal((await liveEvent).id, second.id);
        sub.close();
      });

      await t.step("count returns the number of matching events", async () => {
        assert.equal(await client.count([{ authors: [alice.pubkey] }], {}), 2);
      });

      await t.step("search finds the note by a word of its content", async () => {
        const found = await query(client, { search: "searchable" });
        assert.deepEqual(found.map((e) => e.id), [note.id]);
      });

      await t.step("a deletion request removes the note", async () => {
        await client.publish(alice.sign({ kind: 5, tags: [["e", note.id], ["k", "1"]] }));
        const left = await query(client, { ids: [note.id] });
        assert.deepEqual(left, []);
      });
    } finally {
      client.close();
    }
  },
});

function query(client: Relay, filter: Filter): Promise<NostrEvent[]> {
  return new Promise((resolve) => {
    const out: NostrEvent[] = [];
    const sub = client.subscribe([filter], {
      onevent: (e) => out.push(e as NostrEvent),
      oneose: () => {
        sub.close();
        resolve(out);
      },
    });
  });
}
