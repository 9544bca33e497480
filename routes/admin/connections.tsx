/**
 * `/admin/connections`: the live list (island polling `/admin/api/connections`), totals, and a
 * Close button per connection (its client receives close code 3502 and the reason).
 *
 * @module
 */
import { ADMIN_CLOSE } from "../../services/connections.ts";
import { PageHead } from "../../components/ui.tsx";
import { type Handlers, page, type PageProps } from "../_define.ts";
import { LiveConnections } from "../../islands/mod.ts";
import type { ConnectionsSnapshot } from "../../islands/LiveConnections.tsx";
import { snapshot } from "./api/connections.ts";

export const title = "Connections";

export const handler: Handlers<ConnectionsSnapshot> = {
  async GET(ctx) {
    return page(await snapshot(ctx.deps.services));
  },
};

export default function ConnectionsPage({ data, csrf }: PageProps<ConnectionsSnapshot>) {
  return (
    <>
      <PageHead
        title="Connections"
        sub={`Closing a connection sends close code ${ADMIN_CLOSE.code} "${ADMIN_CLOSE.reason}".`}
      />
      <LiveConnections
        rows={data.connections}
        counts={data.counts}
        total={data.total}
        endpoint="/admin/api/connections"
        closeBase="/admin/api/connections"
        csrf={csrf}
        now={data.now}
      />
    </>
  );
}
