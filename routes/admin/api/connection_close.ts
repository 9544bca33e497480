/**
 * `/admin/api/connections/:id/close` (POST): closes one connection with code 3502.
 *
 * @module
 */
import { closeConnection } from "../../../services/connections.ts";
import { type Handlers, json } from "../../_define.ts";

export const handler: Handlers = {
  async POST(ctx) {
    const result = await closeConnection(ctx.deps.services, ctx.params.id ?? "");
    ctx.deps.log.info("admin closed a connection", {
      cid: ctx.params.id,
      by: ctx.state.user?.id,
      ...result,
    });
    return json({ ok: true, ...result });
  },
};
