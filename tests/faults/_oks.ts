/**
 * Records every OK (and live EVENT) a test client receives, so fault tests can wait for counts
 * and check each event's answers without consuming the client's frames.
 *
 * @module
 */
import type { TestClient } from "../_client.ts";
import { bounded } from "./_procs.ts";

/** One OK answer: accepted flag and message. */
export interface Answer {
  ok: boolean;
  msg: string;
}

/** The OK answers a client received, by event id. */
export class OkLog {
  readonly answers = new Map<string, Answer[]>();
  #waiters: { check: () => boolean; resolve: () => void }[] = [];

  constructor(client: TestClient) {
    client.socket.addEventListener("message", (m) => {
      let f: unknown;
      try {
        f = JSON.parse(String(m.data));
      } catch {
        return;
      }
      if (!Array.isArray(f) || f[0] !== "OK") return;
      const list = this.answers.get(f[1]) ?? [];
      list.push({ ok: f[2] === true, msg: String(f[3]) });
      this.answers.set(f[1], list);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.check()) return true;
        w.resolve();
        return false;
      });
    });
  }

  /** Number of distinct event ids answered. */
  get size(): number {
    return this.answers.size;
  }

  /** The first answer of `id`. */
  first(id: string): Answer | undefined {
    return this.answers.get(id)?.[0];
  }

  /** Resolves once `check()` holds (checked after each OK), within `ms`. */
  until(check: () => boolean, ms: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.#waiters.push({ check, resolve }));
    return bounded(p, ms, `${what} (${this.size} events answered)`);
  }

  /** Resolves once every id in `ids` has an answer, within `ms`. */
  all(ids: string[], ms: number): Promise<void> {
    return this.until(() => ids.every((id) => this.answers.has(id)), ms, `OK for ${ids.length}`);
  }
}

/** Counts live EVENT frames per event id for one subscription. */
export function liveCounter(client: TestClient, sid: string): Map<string, number> {
  const seen = new Map<string, number>();
  client.socket.addEventListener("message", (m) => {
    const f = JSON.parse(String(m.data));
    if (f[0] === "EVENT" && f[1] === sid) seen.set(f[2].id, (seen.get(f[2].id) ?? 0) + 1);
  });
  return seen;
}
