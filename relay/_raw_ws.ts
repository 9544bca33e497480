/**
 * A minimal reader of server websocket frames over a raw TCP connection, for tests of clients
 * that do not read (a WebSocket object always reads).
 *
 * @module
 */

/** Reads frames until the close frame; returns its code and reason. */
export async function readCloseFrame(
  conn: Deno.Conn,
  ms = 20_000,
): Promise<{ code: number; reason: string }> {
  const deadline = Date.now() + ms;
  let buf = new Uint8Array(0);
  let headerDone = false;
  const chunk = new Uint8Array(1 << 16);
  while (Date.now() < deadline) {
    const n = await conn.read(chunk);
    if (n === null) break;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
    if (!headerDone) {
      const end = new TextDecoder().decode(buf).indexOf("\r\n\r\n");
      if (end < 0) continue;
      headerDone = true;
      buf = buf.slice(end + 4);
    }
    let at = 0;
    while (buf.length - at >= 2) {
      const opcode = buf[at]! & 0x0f;
      let len = buf[at + 1]! & 0x7f;
      let head = 2;
      if (len === 126) {
        if (buf.length - at < 4) break;
        len = (buf[at + 2]! << 8) | buf[at + 3]!;
        head = 4;
      } else if (len === 127) {
        if (buf.length - at < 10) break;
        len = Number(new DataView(buf.buffer, buf.byteOffset + at + 2, 8).getBigUint64(0));
        head = 10;
      }
      if (buf.length - at < head + len) break;
      if (opcode === 0x8) {
        const body = buf.subarray(at + head, at + head + len);
        return {
          code: (body[0]! << 8) | body[1]!,
          reason: new TextDecoder().decode(body.subarray(2)),
        };
      }
      at += head + len;
    }
    buf = buf.slice(at);
  }
  throw new Error("Cannot read close frame: none before the connection ended");
}
