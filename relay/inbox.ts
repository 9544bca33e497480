/**
 * The ordered inbox of one connection. Client messages must be handled in the order they
 * arrived, but some wait for something asynchronous first: their rate-limit check (one Redis
 * call each), the connection's admission, or, with forced fast auth, its level. Each message is
 * chained behind the previous one while its own wait starts at once, so the Redis calls of a
 * burst are pipelined, never serialised. The inbox is bounded: when too many messages or bytes
 * are waiting, the caller refuses the next one at once instead of queueing it.
 *
 * @module
 */

/** Most messages one connection may have waiting. */
export const MAX_WAITING_MESSAGES = 1000;

/** Most bytes of messages one connection may have waiting. */
export const MAX_WAITING_BYTES = 4 * 1024 * 1024;

/** Bounds of an inbox. */
export interface InboxLimits {
  messages: number;
  bytes: number;
}

/** Runs steps strictly in the order they were pushed, each once its own wait settled. */
export class Inbox {
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;
  #bytes = 0;

  constructor(
    readonly onError: (err: unknown) => void,
    readonly limits: InboxLimits = { messages: MAX_WAITING_MESSAGES, bytes: MAX_WAITING_BYTES },
  ) {}

  /** True when nothing is waiting: a message may be handled synchronously, in order. */
  get idle(): boolean {
    return this.#waiting === 0;
  }

  /** Number of entries waiting (held gates included). */
  get waiting(): number {
    return this.#waiting;
  }

  /** True when one more message of `bytes` bytes may wait. */
  fits(bytes: number): boolean {
    return this.#waiting < this.limits.messages && this.#bytes + bytes <= this.limits.bytes;
  }

  /** Runs `step(value)` once `wait` resolved and every earlier entry ran. */
  push<T>(wait: Promise<T>, bytes: number, step: (value: T) => void): void {
    this.#waiting++;
    this.#bytes += bytes;
    const done = () => {
      this.#waiting--;
      this.#bytes -= bytes;
    };
    this.#tail = this.#tail.then(() => wait).then(
      (value) => {
        done();
        step(value);
      },
      (err: unknown) => {
        done();
        this.onError(err);
      },
    ).catch(this.onError);
  }

  /** Resolves once every entry pushed so far ran (never rejects). */
  settled(): Promise<void> {
    return this.#tail;
  }

  /** Holds every later entry until `gate` settles (a rejected gate is reported, then released). */
  hold(gate: Promise<unknown>): void {
    this.push(gate, 0, noop);
  }
}

function noop(): void {}
