/**
 * `/admin/connections`: the live list (island polling `/admin/api/connections`), totals, and a
 * Close button per connection (its client receives close code 3502 and the reason).
 *
 * @module
 */
import {
  ADMIN_CLOSE,
  type ConnectionCounts,
  connectionCounts,
  listConnections,
} from "../../services/connections.ts";
import { PageHead } from "../../components/ui.tsx";
import { type Handlers, page, type PageProps } from "../_define.ts";
import { LiveConnections } from "../../islands/mod.ts";
import { type ConnectionRow } from "../../islands/LiveConnections.tsx";
import { toRows } from "./api/connections.ts";

interface Data {
  rows: ConnectionRow[];
  total: number;
  counts: ConnectionCounts;
  now: number;
}

export const title = "Connections";

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const [list, counts] = await Promise.all([
      listConnections(ctx.deps.services, { limit: 500 }),
      connectionCounts(ctx.deps.services),
    ]);
    return page({
      rows: toRows(list.connections),
      total: list.total,
      counts,
      now: Math.floor(Date.now() / 1000),
    });
  },
};

export default function ConnectionsPage({ data, csrf }: PageProps<Data>) {
  const { counts } = data;
  return (
    <>
      <PageHead
        title="Connections"
        sub={`Closing a connection sends close code ${ADMIN_CLOSE.code} "${ADMIN_CLOSE.reason}".`}
      />
      <div class="stats">
        <div class="stat">
          <div class="label">Open</div>
          <div class="value">{counts.connections}</div>
        </div>
        <div class="stat">
          <div class="label">Authenticated</div>
          <div class="value">{counts.authenticated}</div>
        </div>
        <div class="stat">
          <div class="label">Subscriptions</div>
          <div class="value">{counts.subscriptions}</div>
        </div>
        <div class="stat">
          <div class="label">Web processes</div>
          <div class="value">{counts.nodes}</div>
        </div>
      </div>
      <section class="card">
        <LiveConnections
          rows={data.rows}
          endpoint="/admin/api/connections"
          closeBase="/admin/api/connections"
          csrf={csrf}
          now={data.now}
        />
        {data.total > data.rows.length && (
          <p class="muted">Showing the newest {data.rows.length} of {data.total}.</p>
        )}
      </section>
    </>
  );
}
