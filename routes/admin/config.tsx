/**
 * `/admin/config`: the hot settings (maintenance, max connections, unlimited IPs), which take
 * effect at the next connect of any web process, and every boot setting read-only with the
 * variable it came from.
 *
 * @module
 */
import {
  type BootSetting,
  bootSettings,
  getHotSettings,
  type HotSettings,
  setHotSetting,
} from "../../services/settings.ts";
import { PageHead, PostForm } from "../../components/ui.tsx";
import { act, type Handlers, page, type PageProps } from "../_define.ts";

interface Data {
  hot: HotSettings;
  boot: BootSetting[];
}

export const title = "Configuration";

const MESSAGES: Record<string, (h: HotSettings) => string> = {
  maintenance: (h) =>
    h.maintenance
      ? "Maintenance is on: new connections are refused."
      : "Maintenance is off: new connections are accepted.",
  max_allowed_connections: (h) =>
    h.maxAllowedConnections
      ? `At most ${h.maxAllowedConnections} connections.`
      : "Connections are unlimited.",
  unlimited_ips: (h) => `${h.unlimitedIps.length} unlimited IPs.`,
};

export const handler: Handlers<Data> = {
  async GET(ctx) {
    return page({
      hot: await getHotSettings(ctx.deps.services),
      boot: bootSettings(ctx.deps.config),
    });
  },
  POST(ctx) {
    const name = ctx.form.name ?? "";
    return act("/admin/config", async () => {
      const hot = await setHotSetting(ctx.deps.services, name, ctx.form.value ?? "");
      ctx.deps.log.info("admin changed a hot setting", { name, by: ctx.state.user?.id });
      return MESSAGES[name]?.(hot) ?? "Saved.";
    });
  },
};

export default function ConfigPage({ data, csrf }: PageProps<Data>) {
  const { hot, boot } = data;
  return (
    <>
      <PageHead
        title="Configuration"
        sub="Live settings apply to every web process at the next connection; boot settings need a restart."
      />
      <div class="grid">
        <section class="card">
          <h2>
            Maintenance
            {hot.maintenance
              ? <span class="badge bad" data-testid="maintenance-state">on</span>
              : <span class="badge ok" data-testid="maintenance-state">off</span>}
          </h2>
          <p class="muted">
            While on, new websocket connections are refused with close code 3503. Open connections
            stay.
          </p>
          <PostForm action="/admin/config" csrf={csrf}>
            <input type="hidden" name="name" value="maintenance" />
            <input type="hidden" name="value" value={hot.maintenance ? "off" : "on"} />
            <button type="submit" class={hot.maintenance ? "btn primary" : "btn danger"}>
              {hot.maintenance ? "Turn maintenance off" : "Turn maintenance on"}
            </button>
          </PostForm>
        </section>
        <section class="card">
          <h2>Maximum connections</h2>
          <p class="muted">Over all web processes. Empty or 0 means unlimited.</p>
          <PostForm action="/admin/config" csrf={csrf} class="row">
            <input type="hidden" name="name" value="max_allowed_connections" />
            <label class="small">
              Connections
              <input
                type="number"
                name="value"
                min="0"
                value={hot.maxAllowedConnections || ""}
                placeholder="unlimited"
              />
            </label>
            <button type="submit" class="btn">Save</button>
          </PostForm>
        </section>
        <section class="card">
          <h2>Unlimited IPs</h2>
          <p class="muted">Exempt from the rate limit. One per line or separated by spaces.</p>
          <PostForm action="/admin/config" csrf={csrf} class="stack">
            <input type="hidden" name="name" value="unlimited_ips" />
            <textarea
              name="value"
              rows={3}
              aria-label="Unlimited IPs"
              value={hot.unlimitedIps.join("\n")}
            />
            <div>
              <button type="submit" class="btn">Save</button>
            </div>
          </PostForm>
        </section>
      </div>
      <section class="card">
        <h2>Boot settings</h2>
        <div class="table-wrap">
          <table class="table cards">
            <thead>
              <tr>
                <th>Variable</th>
                <th>Value</th>
                <th>Source</th>
              </tr>
            </thead>
            <tbody>
              {boot.map((s) => (
                <tr key={s.key}>
                  <td data-label="Variable" class="setting">
                    <code>{s.env[0]}</code>
                    {s.env.length > 1 && (
                      <span class="muted small-note">{` or ${s.env.slice(1).join(", ")}`}</span>
                    )}
                    <div class="muted small-note">{s.description}</div>
                  </td>
                  <td data-label="Value" class="wrap value">
                    {s.value === "" ? <span class="muted">(empty)</span> : <code>{s.value}</code>}
                  </td>
                  <td data-label="Source">
                    <span class={s.source === "default" ? "badge" : "badge level-3"}>
                      {s.source}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
