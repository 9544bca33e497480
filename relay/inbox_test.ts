import assert from "node:assert/strict";
import { Inbox } from "./inbox.ts";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function flush() {
  return new Promise((r) => setTimeout(r, 0));
}

Deno.test("Inbox runs steps in push order even when later waits settle first", async () => {
  const inbox = new Inbox(() => {});
  const ran: number[] = [];
  const waits = [deferred<number>(), deferred<number>(), deferred<number>()];
  waits.forEach((w, i) => inbox.push(w.promise, 10, (v) => ran.push(v + i)));
  assert.equal(inbox.idle, false);
  waits[2]!.resolve(300);
  waits[1]!.resolve(200);
  await flush();
  assert.deepEqual(ran, [], "the first one still waits");
  waits[0]!.resolve(100);
  await flush();
  assert.deepEqual(ran, [100, 201, 302]);
  assert.equal(inbox.idle, true);
});

Deno.test("Inbox.hold() holds later steps until the gate settles", async () => {
  const inbox = new Inbox(() => {});
  const gate = deferred<void>();
  const ran: string[] = [];
  inbox.hold(gate.promise);
  inbox.push(Promise.resolve("a"), 1, (v) => ran.push(v));
  inbox.push(Promise.resolve("b"), 1, (v) => ran.push(v));
  await flush();
  assert.deepEqual(ran, []);
  gate.resolve();
  await flush();
  assert.deepEqual(ran, ["a", "b"]);
});

Deno.test("Inbox reports a failed wait or step and keeps going", async () => {
  const errors: unknown[] = [];
  const inbox = new Inbox((err) => errors.push(err));
  const ran: string[] = [];
  inbox.push(Promise.reject(new Error("wait")), 1, () => ran.push("never"));
  inbox.push(Promise.resolve("x"), 1, () => {
    throw new Error("step");
  });
  inbox.push(Promise.resolve("y"), 1, (v) => ran.push(v));
  await flush();
  assert.deepEqual(ran, ["y"]);
  assert.deepEqual(errors.map((e) => (e as Error).message), ["wait", "step"]);
  assert.equal(inbox.idle, true);
});

Deno.test("Inbox.fits() bounds waiting messages and bytes", async () => {
  const inbox = new Inbox(() => {}, { messages: 2, bytes: 100 });
  const gate = deferred<void>();
  assert.ok(inbox.fits(100));
  assert.equal(inbox.fits(101), false);
  inbox.push(gate.promise, 60, () => {});
  assert.ok(inbox.fits(40));
  assert.equal(inbox.fits(41), false);
  inbox.push(Promise.resolve(), 10, () => {});
  assert.equal(inbox.fits(1), false, "two messages wait");
  gate.resolve();
  await flush();
  assert.ok(inbox.fits(100));
  assert.equal(inbox.waiting, 0);
});
