/**
 * Publishing replies on a connection's channel in the encoding of lib/contract.ts.
 *
 * @module
 */
import { encodeReply, type ReplyHeader } from "../lib/contract.ts";
import type { ProcessorDeps } from "./deps.ts";

/** Publishes one reply (header + payload lines) to connection `cid`. */
export async function publishReply(
  deps: Pick<ProcessorDeps, "redis" | "keys">,
  cid: string,
  header: ReplyHeader,
  lines: string[] = [],
): Promise<void> {
  await deps.redis.publish(deps.keys.connectionChannel(cid), encodeReply(header, lines));
}

/** The wire message `["OK", id, ok, message]` as a `send` reply. */
export function okReply(id: string, ok: boolean, message: string): string {
  return encodeReply({ op: "send" }, [JSON.stringify(["OK", id, ok, message])]);
}
