/**
 * A minimal NIP-01 client over the runtime's WebSocket: light enough to hold thousands of
 * connections, with EVENT frames handed over raw (only the subscription id is extracted) so that
 * the load generator spends as little time as possible per delivered event.
 *
 * @module
 */

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
  /** Milliseconds from `new WebSocket()` to `open`. */
  readonly connectMs: number;
  /** Resolves when the connection is closed. */
  readonly closed: Promise<CloseInfo>;
  /** Text frames that were not valid NIP-01 messages. */
  garbage = 0;
  #ws: WebSocket;

  private constructor(ws: WebSocket, connectMs: number) {
    this.#ws = ws;
    this.connectMs = connectMs;
    let settle: (info: CloseInfo) => void = () => {};
    this.closed = new Promise((resolve) => settle = resolve);
    ws.onmessage = (e: MessageEvent) => this.#dispatch(e.data);
    ws.onerror = () => {};
    ws.onclose = (e: CloseEvent) => {
      this.closeInfo = { code: e.code, reason: e.reason };
      settle(this.closeInfo);
    };
  }

  /** Opens a connection; rejects on error, early close or after `timeoutMs`. */
  static connect(url: string, timeoutMs: number): Promise<RelaySocket> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => {
        ws.onclose = null;
        ws.close();
        reject(new Error(`Cannot connect: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(new RelaySocket(ws, performance.now() - started));
      };
      ws.onerror = (e) => {
        clearTimeout(timer);
        reject(new Error(`Cannot connect: ${e instanceof ErrorEvent ? e.message : "error"}`));
      };
      ws.onclose = (e) => {
        clearTimeout(timer);
        reject(new Error(`Cannot connect: closed with code ${e.code} ${e.reason}`.trim()));
      };
    });
  }

  /** True while the connection is open. */
  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Sends one frame (already serialized); false when the connection is no longer open. */
  send(frame: string): boolean {
    if (this.#ws.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(frame);
    return true;
  }

  /** Closes the connection and waits (at most `timeoutMs`) for the close to complete. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closeInfo) return;
    this.#ws.close(1000, "bench done");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.closed,
      new Promise((r) => timer = setTimeout(r, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  #dispatch(data: unknown): void {
    const now = performance.now();
    if (typeof data !== "string") {
      this.garbage++;
      return;
    }
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
  opts: { concurrency: number; deadline: number; onOpen?: (s: RelaySocket, i: number) => void },
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
        const s = await RelaySocket.connect(url, Math.min(remaining, 15_000));
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
