/**
 * `/admin/api/connections` (GET): the live list as JSON, polled by the LiveConnections island.
 *
 * @module
 */
import { type ConnectionInfo, listConnections } from "../../../services/connections.ts";
import type { ConnectionRow } from "../../../islands/LiveConnections.tsx";
import { type Handlers, json } from "../../_define.ts";

/** The island's rows from the service's connection records. */
export function toRows(list: ConnectionInfo[]): ConnectionRow[] {
  return list.map((c) => ({
    id: c.id,
    ip: c.ip ?? "",
    pubkey: c.pubkey ?? "",
    level: c.level,
    subscriptions: c.subscriptions,
    requests: c.requests,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    startedAt: c.startedAt ?? 0,
  }));
}

export const handler: Handlers = {
  async GET(ctx) {
    const list = await listConnections(ctx.deps.services, { limit: 500 });
    return json({
      total: list.total,
      connections: toRows(list.connections),
      now: Math.floor(Date.now() / 1000),
    });
  },
};
