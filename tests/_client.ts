/**
 * A raw websocket test client: sends frames and waits for the ones it expects, so tests assert
 * exact wire messages without sleeping.
 *
 * @module
 */
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import type { NostrEvent } from "../lib/nostr/event.ts";

/** A relay-to-client frame. */
// deno-lint-ignore no-explicit-any
export type Frame = any[];

/** Default time to wait for an expected frame. */
export const WAIT_MS = 10_000;

/** A connected websocket client that records every frame it receives. */
export class TestClient {
  readonly frames: Frame[] = [];
  #ws: WebSocket;
  #waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  #closed: Promise<CloseEvent>;
  #consumed = new Set<number>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.#closed = new Promise((resolve) => ws.addEventListener("close", resolve));
    ws.addEventListener("message", (m) => {
      const frame = JSON.parse(String(m.data)) as Frame;
      const index = this.frames.push(frame) - 1;
      const waiter = this.#waiters.find((w) => w.pred(frame));
      if (!waiter) return;
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      this.#consumed.add(index);
      waiter.resolve(frame);
    });
  }

  /** Opens a connection to `url` and waits until it is open. */
  static async connect(url: string): Promise<TestClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`Cannot connect: ${url}`)), {
        once: true,
      });
    });
    return new TestClient(ws);
  }

  get socket(): WebSocket {
    return this.#ws;
  }

  /** Sends a frame (an array is JSON-encoded, a string is sent as is). */
  send(frame: unknown[] | string | Uint8Array): void {
    if (typeof frame === "string" || frame instanceof Uint8Array) this.#ws.send(frame);
    else this.#ws.send(JSON.stringify(frame));
  }

  /**
   * Waits for the first frame matching `pred` that no earlier `next` call returned. Frames
   * already received count, so no message can be missed between send and wait, and frames may
   * be awaited in any order.
   */
  next(pred: (f: Frame) => boolean, ms = WAIT_MS): Promise<Frame> {
    for (let i = 0; i < this.frames.length; i++) {
      const frame = this.frames[i]!;
      if (!this.#consumed.has(i) && pred(frame)) {
        this.#consumed.add(i);
        return Promise.resolve(frame);
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `Timed out after ${ms} ms waiting for a frame; got ${
              JSON.stringify(this.frames.slice(-5))
            }`,
          ),
        );
      }, ms);
      const done = (f: Frame) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.#waiters.push({ pred, resolve: done });
    });
  }

  /** Waits for the OK of event `id`. */
  ok(id: string): Promise<Frame> {
    return this.next((f) => f[0] === "OK" && f[1] === id);
  }

  /** Publishes `event` and returns its OK frame. */
  async publish(event: NostrEvent): Promise<Frame> {
    this.send(["EVENT", event]);
    return await this.ok(event.id);
  }

  /** Sends REQ and collects stored events until EOSE (or a CLOSED, returned as `closed`). */
  async req(
    sid: string,
    ...filters: unknown[]
  ): Promise<{ events: NostrEvent[]; closed?: string }> {
    const start = this.frames.length;
    this.send(["REQ", sid, ...filters]);
    const end = await this.next((f) => (f[0] === "EOSE" || f[0] === "CLOSED") && f[1] === sid);
    const events = this.frames.slice(start, this.frames.indexOf(end))
      .filter((f) => f[0] === "EVENT" && f[1] === sid)
      .map((f) => f[2] as NostrEvent);
    return end[0] === "CLOSED" ? { events, closed: end[2] } : { events };
  }

  /** Like `req`, then CLOSEs the subscription: a one-shot query. */
  async query(
    sid: string,
    ...filters: unknown[]
  ): Promise<{ events: NostrEvent[]; closed?: string }> {
    const res = await this.req(sid, ...filters);
    if (!res.closed) this.send(["CLOSE", sid]);
    return res;
  }

  /** Waits for the live EVENT of `sid` carrying event `id`. */
  live(sid: string, id: string): Promise<Frame> {
    return this.next((f) => f[0] === "EVENT" && f[1] === sid && f[2]?.id === id);
  }

  /** Waits for the next NOTICE. */
  notice(): Promise<Frame> {
    return this.next((f) => f[0] === "NOTICE");
  }

  /** Resolves with the close event once the server closes the socket. */
  closed(): Promise<CloseEvent> {
    return this.#closed;
  }

  /** Closes the socket and waits for it to be closed. */
  async close(): Promise<void> {
    if (this.#ws.readyState !== WebSocket.CLOSED) this.#ws.close();
    await this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A key pair for signing test events. */
export interface Signer {
  sk: Uint8Array;
  pubkey: string;
  sign(template: Partial<Omit<NostrEvent, "id" | "sig" | "pubkey">>): NostrEvent;
}

let clock = Math.floor(Date.now() / 1000) - 1000;

/** A fresh key pair; `sign` fills kind 1, empty tags/content and an increasing created_at. */
export function signer(): Signer {
  const sk = generateSecretKey();
  return {
    sk,
    pubkey: getPublicKey(sk),
    sign(t) {
      const e = finalizeEvent({
        kind: t.kind ?? 1,
        tags: t.tags ?? [],
        content: t.content ?? "",
        created_at: t.created_at ?? ++clock,
      }, sk);
      // A plain object: nostr-tools marks its events with a symbol property.
      return JSON.parse(JSON.stringify(e));
    },
  };
}

/** Current unix time in seconds. */
export function now(): number {
  return Math.floor(Date.now() / 1000);
}
