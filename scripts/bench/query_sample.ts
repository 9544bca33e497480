/**
 * For `--no-seed`: learns what a relay already stores by asking for recent events of the bench's
 * kinds, so the query mix can draw ids, authors and tag values that exist.
 *
 * @module
 */
import { type KnownEvent, knownOf } from "./context.ts";
import type { SignedEvent } from "./corpus.ts";
import { RelaySocket } from "./relay_socket.ts";

const SAMPLE_FILTERS: Record<string, unknown>[] = [
  { kinds: [1], limit: 1000 },
  { kinds: [7], limit: 500 },
  { kinds: [3], limit: 50 },
  { kinds: [30023], limit: 200 },
  { limit: 500 },
];

function isEvent(x: unknown): x is SignedEvent {
  if (typeof x !== "object" || x === null) return false;
  const e = x as Record<string, unknown>;
  return typeof e.id === "string" && typeof e.pubkey === "string" &&
    typeof e.kind === "number" && typeof e.created_at === "number" && Array.isArray(e.tags);
}

/** Fetches a sample of stored events (deduplicated); stops each REQ at EOSE or `timeoutMs`. */
export async function sampleStored(url: string, timeoutMs: number): Promise<KnownEvent[]> {
  const socket = await RelaySocket.connect(url, 10_000);
  const seen = new Map<string, KnownEvent>();
  try {
    for (const [i, filter] of SAMPLE_FILTERS.entries()) {
      const subId = `sample-${i}`;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        socket.handlers = {
          event(sid, raw) {
            if (sid !== subId) return;
            try {
              const msg: unknown = JSON.parse(raw);
              const ev = Array.isArray(msg) ? msg[2] : undefined;
              if (isEvent(ev) && !seen.has(ev.id)) seen.set(ev.id, knownOf(ev));
            } catch {
              // a frame that is not JSON is not a sample
            }
          },
          eose: (sid) => sid === subId && done(),
          closed: (sid) => sid === subId && done(),
        };
        if (!socket.send(JSON.stringify(["REQ", subId, filter]))) done();
      });
      socket.send(JSON.stringify(["CLOSE", subId]));
    }
  } finally {
    await socket.close();
  }
  return [...seen.values()];
}
