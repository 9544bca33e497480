/**
 * A minimal RFC 6455 websocket client over `Deno.connect` with TCP_NODELAY set.
 *
 * Why not the runtime's `WebSocket`: in Deno 2.9 its client socket keeps Nagle's algorithm on, so
 * two small frames written back to back (CLOSE then REQ, or an EVENT while the previous one is
 * still unacknowledged) wait for the relay's delayed ACK, about 40 ms on Linux. Measured here: a
 * REQ sent right after a CLOSE took 43–47 ms to EOSE with `WebSocket` and 1.4–3.8 ms over a
 * socket with TCP_NODELAY. Browsers set TCP_NODELAY, so the delay belongs to the client, not to
 * the relay under test. Text and binary messages, fragmentation, ping/pong and the close
 * handshake are handled; extensions (permessage-deflate) are not requested.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const READ_CHUNK = 16 * 1024;

/** Callbacks of one connection. */
export interface WsCallbacks {
  onText(text: string): void;
  onBinary?(bytes: Uint8Array): void;
  onClose(code: number, reason: string): void;
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** Builds one masked client frame. */
function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const headerLen = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(headerLen + 4 + n);
  out[0] = 0x80 | opcode;
  if (n < 126) {
    out[1] = 0x80 | n;
  } else if (n < 65536) {
    out[1] = 0x80 | 126;
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  const mask = crypto.getRandomValues(out.subarray(headerLen, headerLen + 4));
  const body = headerLen + 4;
  for (let i = 0; i < n; i++) out[body + i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return out;
}

/** One client connection; create with `NoDelayWebSocket.connect`. */
export class NoDelayWebSocket {
  #conn: Deno.Conn;
  #cb: WsCallbacks;
  #buf = new Uint8Array(READ_CHUNK);
  #len = 0;
  #fragments: Uint8Array[] = [];
  #fragmentOpcode = 0;
  #queue: Uint8Array[] = [];
  #flushing = false;
  #open = true;
  #closeSent = false;
  #closed = false;
  #closedByPeer: { code: number; reason: string } | null = null;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(conn: Deno.Conn, leftover: Uint8Array, cb: WsCallbacks) {
    this.#conn = conn;
    this.#cb = cb;
    this.#append(leftover);
  }

  /**
   * Connects and completes the upgrade handshake; rejects with the HTTP status line when the
   * server refuses. `cb` receives messages from the next macrotask on, so a caller can finish
   * its set-up after `await`. `extraHeaders` are extra handshake header lines (name → value), e.g.
   * `X-Forwarded-For` for a relay that trusts a proxy header.
   */
  static async connect(
    url: string,
    cb: WsCallbacks,
    signal?: AbortSignal,
    extraHeaders: Record<string, string> = {},
  ): Promise<NoDelayWebSocket> {
    const u = new URL(url);
    const tls = u.protocol === "wss:";
    const port = Number(u.port || (tls ? 443 : 80));
    const tcp = await Deno.connect({ hostname: u.hostname, port, signal });
    tcp.setNoDelay(true);
    let conn: Deno.Conn = tcp;
    try {
      if (tls) conn = await Deno.startTls(tcp, { hostname: u.hostname });
      const key = base64(crypto.getRandomValues(new Uint8Array(16)));
      let extra = "";
      for (const [name, value] of Object.entries(extraHeaders)) {
        if (/[\r\n:]/.test(name) || /[\r\n]/.test(value)) {
          throw new Error(`invalid handshake header "${name}"`);
        }
        extra += `${name}: ${value}\r\n`;
      }
      const request = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
        `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
        `Sec-WebSocket-Version: 13\r\n${extra}\r\n`;
      await writeAll(conn, encoder.encode(request));
      let head = new Uint8Array(0);
      const chunk = new Uint8Array(4096);
      let end = -1;
      while (end < 0) {
        if (signal?.aborted) throw new Error("handshake aborted");
        const n = await conn.read(chunk);
        if (n === null) throw new Error("connection closed during the handshake");
        const next = new Uint8Array(head.length + n);
        next.set(head);
        next.set(chunk.subarray(0, n), head.length);
        head = next;
        end = indexOfCrlfCrlf(head);
        if (end < 0 && head.length > 65536) throw new Error("oversized handshake response");
      }
      const headers = decoder.decode(head.subarray(0, end));
      const status = headers.slice(0, headers.indexOf("\r\n"));
      if (!/^HTTP\/1\.1 101\b/.test(status)) throw new Error(`handshake refused: ${status}`);
      const ws = new NoDelayWebSocket(conn, head.subarray(end + 4), cb);
      setTimeout(() => ws.#readLoop(), 0);
      return ws;
    } catch (err) {
      try {
        conn.close();
      } catch {
        // already closed
      }
      throw err;
    }
  }

  /** True until a close frame was sent or received, or the socket ended. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** Queues one text message; false when the connection is no longer open. */
  sendText(text: string): boolean {
    if (!this.#open) return false;
    this.#write(encodeFrame(0x1, encoder.encode(text)));
    return true;
  }

  /** Starts the close handshake; the socket ends when the server answers (or after 2 s). */
  close(code = 1000, reason = ""): void {
    if (!this.#open) return;
    this.#open = false;
    this.#sendClose(code, reason);
    this.#closeTimer = setTimeout(() => this.#end(1006, "close handshake timed out"), 2000);
  }

  #sendClose(code: number, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    const r = encoder.encode(reason).subarray(0, 123);
    const p = new Uint8Array(2 + r.length);
    p[0] = code >>> 8;
    p[1] = code & 0xff;
    p.set(r, 2);
    this.#write(encodeFrame(0x8, p));
  }

  #write(frame: Uint8Array): void {
    this.#queue.push(frame);
    if (!this.#flushing) void this.#flush();
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const frames = this.#queue;
        this.#queue = [];
        await writeAll(this.#conn, frames.length === 1 ? frames[0] as Uint8Array : concat(frames));
      }
    } catch (err) {
      this.#end(1006, err instanceof Error ? err.message : String(err));
    } finally {
      this.#flushing = false;
    }
  }

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(READ_CHUNK);
    try {
      this.#parse();
      while (!this.#closed) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        this.#append(chunk.subarray(0, n));
        this.#parse();
      }
      this.#end(1006, "connection ended without a close frame");
    } catch (err) {
      this.#end(1006, err instanceof Error ? err.message : String(err));
    }
  }

  #append(bytes: Uint8Array): void {
    if (this.#len + bytes.length > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < this.#len + bytes.length) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  #parse(): void {
    let off = 0;
    const b = this.#buf;
    while (this.#len - off >= 2 && !this.#closed) {
      const b0 = b[off] as number;
      const b1 = b[off + 1] as number;
      let n = b1 & 0x7f;
      let head = 2;
      if (n === 126) {
        if (this.#len - off < 4) break;
        n = ((b[off + 2] as number) << 8) | (b[off + 3] as number);
        head = 4;
      } else if (n === 127) {
        if (this.#len - off < 10) break;
        n = Number(new DataView(b.buffer, b.byteOffset + off + 2, 8).getBigUint64(0));
        head = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const start = off + head + (masked ? 4 : 0);
      if (this.#len < start + n) break;
      const payload = b.slice(start, start + n);
      if (masked) {
        for (let i = 0; i < n; i++) {
          payload[i] = (payload[i] as number) ^ (b[off + head + (i & 3)] as number);
        }
      }
      off = start + n;
      this.#frame(b0 & 0x0f, (b0 & 0x80) !== 0, payload);
    }
    if (off > 0) {
      b.copyWithin(0, off, this.#len);
      this.#len -= off;
    }
  }

  #frame(opcode: number, fin: boolean, payload: Uint8Array): void {
    switch (opcode) {
      case 0x0:
      case 0x1:
      case 0x2: {
        if (opcode !== 0x0) this.#fragmentOpcode = opcode;
        if (!fin) {
          this.#fragments.push(payload);
          return;
        }
        const data = this.#fragments.length ? concat([...this.#fragments, payload]) : payload;
        this.#fragments = [];
        if (this.#fragmentOpcode === 0x1) this.#cb.onText(decoder.decode(data));
        else this.#cb.onBinary?.(data);
        return;
      }
      case 0x8: {
        const code = payload.length >= 2
          ? ((payload[0] as number) << 8) | (payload[1] as number)
          : 1005;
        const reason = decoder.decode(payload.subarray(2));
        this.#open = false;
        this.#closedByPeer = { code, reason };
        this.#sendClose(code === 1005 ? 1000 : code, "");
        // Let the close reply flush before ending the socket.
        clearTimeout(this.#closeTimer);
        this.#closeTimer = setTimeout(() => this.#end(code, reason), 50);
        return;
      }
      case 0x9:
        if (this.#open) this.#write(encodeFrame(0xa, payload));
        return;
      default:
        return;
    }
  }

  #end(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#open = false;
    clearTimeout(this.#closeTimer);
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    const info = this.#closedByPeer ?? { code, reason };
    this.#cb.onClose(info.code, info.reason);
  }
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}
