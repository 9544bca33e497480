/**
 * A minimal NIP-01 client, light enough to hold thousands of connections, with EVENT frames
 * handed over raw (only the subscription id is extracted) so that the load generator spends as
 * little time as possible per delivered event. It runs over `NoDelayWebSocket` (TCP_NODELAY; see
 * nodelay_ws.ts for why not the runtime's WebSocket).
 *
 * @module
 */
import { NoDelayWebSocket } from "./nodelay_ws.ts";

/** Callbacks for the relay messages a scenario cares about; `now` is performance.now() on arrival. */
export interface RelayHandlers {
  ok?(id: string, accepted: boolean, message: string, now: number): void;
  eose?(subId: string, now: number): void;
  closed?(subId: string, message: string, now: number): void;
  event?(subId: string, raw: string, now: number): void;
  notice?(message: string): void;
}

/** How a connection ended. */
export interface CloseInfo {
  code: number;
  reason: string;
}

const EVENT_PREFIX = /^\[\s*"EVENT"\s*,\s*"([^"\\]*)"/;
const EVENT_ID = /"id"\s*:\s*"([0-9a-f]{64})"/;

/** The id of the event inside a raw `["EVENT", sub, {...}]` frame, without a full parse. */
export function rawEventId(raw: string): string | undefined {
  const m = EVENT_ID.exec(raw);
  if (m) return m[1];
  try {
    const parsed: unknown = JSON.parse(raw);
    if (Array.isArray(parsed) && typeof parsed[2]?.id === "string") return parsed[2].id;
  } catch {
    // not JSON: no id
  }
  return undefined;
}

/** One open connection to the relay. */
export class RelaySocket {
  /** Handlers; replace or extend them at any time. */
  handlers: RelayHandlers = {};
  /** Set once the connection is closed (by either side). */
  closeInfo: CloseInfo | null = null;
  /** Milliseconds from the TCP connect to the end of the upgrade handshake. */
  readonly connectMs: number;
  /** Resolves when the connection is closed. */
  readonly closed: Promise<CloseInfo>;
  /** Frames that were not valid NIP-01 messages (binary frames included). */
  garbage = 0;
  #ws: NoDelayWebSocket;
  #settle: (info: CloseInfo) => void = () => {};

  private constructor(ws: NoDelayWebSocket, connectMs: number) {
    this.#ws = ws;
    this.connectMs = connectMs;
    this.closed = new Promise((resolve) => this.#settle = resolve);
  }

  /**
   * Opens a connection; rejects on error, refusal or after `timeoutMs`. `headers` are extra
   * handshake headers (see NoDelayWebSocket.connect).
   */
  static async connect(
    url: string,
    timeoutMs: number,
    headers?: Record<string, string>,
  ): Promise<RelaySocket> {
    const started = performance.now();
    let target: RelaySocket | null = null;
    const signal = AbortSignal.timeout(timeoutMs);
    const connecting = NoDelayWebSocket.connect(
      url,
      {
        onText: (text) => {
          if (target) target.#dispatch(text);
        },
        onBinary: () => target && target.garbage++,
        onClose: (code, reason) => {
          if (target) target.#onClose(code, reason);
        },
      },
      signal,
      headers,
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Cannot connect: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const ws = await Promise.race([connecting, expired]);
      target = new RelaySocket(ws, performance.now() - started);
      return target;
    } catch (err) {
      // A handshake that completes after the deadline must not leak a socket.
      connecting.then((ws) => ws.close(), () => {});
      throw err instanceof Error && err.message.startsWith("Cannot connect")
        ? err
        : new Error(`Cannot connect: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** True while the connection is open. */
  get isOpen(): boolean {
    return this.#ws.isOpen;
  }

  /** Sends one frame (already serialized); false when the connection is no longer open. */
  send(frame: string): boolean {
    return this.#ws.sendText(frame);
  }

  /** Closes the connection and waits (at most `timeoutMs`) for the close to complete. */
  async close(timeoutMs = 2500): Promise<void> {
    if (this.closeInfo) return;
    this.#ws.close(1000, "bench done");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.closed,
      new Promise((r) => timer = setTimeout(r, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  #onClose(code: number, reason: string): void {
    if (this.closeInfo) return;
    this.closeInfo = { code, reason };
    this.#settle(this.closeInfo);
  }

  #dispatch(data: string): void {
    const now = performance.now();
    const h = this.handlers;
    const m = EVENT_PREFIX.exec(data);
    if (m) {
      h.event?.(m[1] ?? "", data, now);
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      this.garbage++;
      return;
    }
    if (!Array.isArray(msg)) {
      this.garbage++;
      return;
    }
    const [type, a, b, c] = msg;
    switch (type) {
      case "OK":
        h.ok?.(String(a), b === true, String(c ?? ""), now);
        break;
      case "EOSE":
        h.eose?.(String(a), now);
        break;
      case "CLOSED":
        h.closed?.(String(a), String(b ?? ""), now);
        break;
      case "NOTICE":
        h.notice?.(String(a));
        break;
      case "EVENT":
        h.event?.(String(a), data, now);
        break;
      case "AUTH":
      case "COUNT":
        break;
      default:
        this.garbage++;
    }
  }
}

/**
 * Opens `n` connections with at most `concurrency` handshakes at once, stopping at `deadline`
 * (performance.now() time). Failures are returned as messages, never thrown.
 */
export async function connectMany(
  url: string,
  n: number,
  opts: {
    concurrency: number;
    deadline: number;
    onOpen?: (s: RelaySocket, i: number) => void;
    /** Extra handshake headers of connection `i`. */
    headers?: (i: number) => Record<string, string>;
  },
): Promise<{ sockets: RelaySocket[]; failures: string[]; elapsedMs: number }> {
  const sockets: RelaySocket[] = [];
  const failures: string[] = [];
  const started = performance.now();
  let next = 0;
  async function lane(): Promise<void> {
    while (next < n) {
      const remaining = opts.deadline - performance.now();
      if (remaining <= 0) return;
      const i = next++;
      try {
        const s = await RelaySocket.connect(url, Math.min(remaining, 15_000), opts.headers?.(i));
        sockets.push(s);
        opts.onOpen?.(s, i);
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, opts.concurrency) }, lane));
  return { sockets, failures, elapsedMs: performance.now() - started };
}

/** Closes every socket (in parallel, each bounded). */
export async function closeAll(sockets: RelaySocket[]): Promise<void> {
  await Promise.all(sockets.map((s) => s.close()));
}
