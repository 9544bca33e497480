/**
 * `/admin/api/connections` (GET): the live list as JSON, polled by the LiveConnections island.
 *
 * @module
 */
import {
  connectionCounts,
  type ConnectionInfo,
  listConnections,
} from "../../../services/connections.ts";
import type { ConnectionRow, ConnectionsSnapshot } from "../../../islands/LiveConnections.tsx";
import type { ServiceDeps } from "../../../services/deps.ts";
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

/** The newest 500 connections and the totals, as the island shows them. */
export async function snapshot(services: ServiceDeps): Promise<ConnectionsSnapshot> {
  const [list, counts] = await Promise.all([
    listConnections(services, { limit: 500 }),
    connectionCounts(services),
  ]);
  return {
    connections: toRows(list.connections),
    counts,
    total: list.total,
    now: Math.floor(Date.now() / 1000),
  };
}

export const handler: Handlers = {
  async GET(ctx) {
    return json(await snapshot(ctx.deps.services));
  },
};
