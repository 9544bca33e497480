import assert from "node:assert/strict";
import { MAX_LIVE_BUFFER, STORED_IDS_GRACE_MS, type StreamOwner, SubStream } from "./sub_stream.ts";

function raw(n: number): { id: string; raw: string } {
  const id = n.toString(16).padStart(64, "0");
  return { id, raw: `{"id":"${id}","n":${n}}` };
}

function setup(now = () => 0) {
  const frames: string[] = [];
  const overflowed: SubStream[] = [];
  const owner: StreamOwner = {
    authed: [],
    send: (f) => frames.push(f),
    overflow: (s) => overflowed.push(s),
  };
  const stream = new SubStream('s"1', 1, [{}], owner, now);
  function received(): string[] {
    return frames.map((f) => {
      const msg = JSON.parse(f);
      return msg[0] === "EVENT" ? `E${msg[2].n}` : msg[0];
    });
  }
  return { stream, frames, overflowed, received };
}

Deno.test("SubStream sends stored events, EOSE, then live events", () => {
  const { stream, frames, received } = setup();
  stream.stored([raw(1).raw, raw(2).raw], false);
  stream.stored([raw(3).raw], true);
  stream.live(raw(4).id, raw(4).raw);
  assert.deepEqual(received(), ["E1", "E2", "E3", "EOSE", "E4"]);
  assert.equal(frames[0], `["EVENT","s\\"1",${raw(1).raw}]`);
  assert.equal(frames[3], '["EOSE","s\\"1"]');
  assert.equal(stream.loading, false);
});

Deno.test("SubStream buffers live events while loading and never sends one twice", () => {
  const { stream, received } = setup();
  stream.live(raw(5).id, raw(5).raw); // live, then also in the stored batch
  stream.stored([raw(9).raw], false);
  stream.live(raw(6).id, raw(6).raw); // live only
  stream.live(raw(9).id, raw(9).raw); // already sent as stored
  assert.deepEqual(received(), ["E9"]);
  stream.stored([raw(5).raw, raw(9).raw], true);
  assert.deepEqual(received(), ["E9", "E5", "EOSE", "E6"]);
});

Deno.test("SubStream ignores a late live copy of a stored event during the grace period", () => {
  let now = 1000;
  const { stream, received } = setup(() => now);
  stream.stored([raw(1).raw], true);
  stream.live(raw(1).id, raw(1).raw);
  assert.deepEqual(received(), ["E1", "EOSE"]);
  now += STORED_IDS_GRACE_MS;
  assert.equal(stream.expire(now), true);
  stream.live(raw(2).id, raw(2).raw);
  assert.deepEqual(received(), ["E1", "EOSE", "E2"]);
});

Deno.test("SubStream uses the ids captured when a delayed (search) match arrived", () => {
  const { stream, received } = setup();
  const known = stream.knownIds();
  stream.stored([raw(1).raw], true);
  stream.live(raw(1).id, raw(1).raw, known);
  stream.live(raw(2).id, raw(2).raw, known);
  assert.deepEqual(received(), ["E1", "EOSE", "E2"]);
});

Deno.test("SubStream reports an overflowing live buffer to its owner", () => {
  const { stream, overflowed } = setup();
  for (let i = 0; i < MAX_LIVE_BUFFER; i++) stream.live(raw(i).id, raw(i).raw);
  assert.equal(overflowed.length, 0);
  stream.live(raw(MAX_LIVE_BUFFER).id, raw(MAX_LIVE_BUFFER).raw);
  assert.deepEqual(overflowed, [stream]);
});

Deno.test("SubStream sends nothing once closed", () => {
  const { stream, frames } = setup();
  stream.closed = true;
  stream.stored([raw(1).raw], true);
  stream.live(raw(2).id, raw(2).raw);
  assert.deepEqual(frames, []);
});
