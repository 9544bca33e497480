/**
 * `/admin`: the overview: totals, events per hour, connections over time, events stored per
 * kind, and the health of Redis, PostgreSQL, the workers and the web processes.
 *
 * @module
 */
import { type ConnectionCounts, connectionCounts } from "../../services/connections.ts";
import {
  connectionsOverTime,
  eventsPerHour,
  eventsPerKind,
  type KindCounts,
  type RelayHealth,
  relayHealth,
  type StatPoint,
} from "../../services/stats.ts";
import { getHotSettings, type HotSettings } from "../../services/settings.ts";
import { Bars, ColumnChart, compact, LineChart } from "../../components/charts.tsx";
import { PageHead } from "../../components/ui.tsx";
import { type Handlers, page, type PageProps } from "../_define.ts";

interface Data {
  counts: ConnectionCounts;
  hot: HotSettings;
  perHour: StatPoint[];
  connections: StatPoint[];
  kinds: KindCounts | null;
  health: RelayHealth;
}

export const title = "Overview";

const KIND_NAMES: Record<number, string> = {
  0: "profile",
  1: "note",
  3: "follows",
  4: "DM",
  5: "deletion",
  6: "repost",
  7: "reaction",
  1059: "gift wrap",
  1984: "report",
  9735: "zap",
  10002: "relay list",
  30023: "article",
};

function kindLabel(kind: number): string {
  return KIND_NAMES[kind] ? `${kind} · ${KIND_NAMES[kind]}` : String(kind);
}

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const s = ctx.deps.services;
    const [counts, hot, perHour, connections, kinds, health] = await Promise.all([
      connectionCounts(s),
      getHotSettings(s),
      eventsPerHour(s, { hours: 48 }),
      connectionsOverTime(s, { minutes: 24 * 60 }),
      eventsPerKind(s, { top: 10 }).catch(() => null),
      relayHealth(s),
    ]);
    return page({ counts, hot, perHour, connections, kinds, health });
  },
};

function ago(ms: number): string {
  if (ms < 1500) return "just now";
  if (ms < 90_000) return `${Math.round(ms / 1000)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}

export default function OverviewPage({ data }: PageProps<Data>) {
  const { counts, health, kinds } = data;
  const lastDay = data.perHour.slice(-24).reduce((n, p) => n + p.v, 0);
  const workers = health.workers.reduce((n, w) => n + Math.max(0, w.count), 0);
  return (
    <>
      <PageHead title="Overview" sub="Times are UTC.">
        {data.hot.maintenance && <span class="badge bad">maintenance on</span>}
      </PageHead>
      <div class="stats">
        <div class="stat">
          <div class="label">Connections</div>
          <div class="value">{counts.connections}</div>
        </div>
        <div class="stat">
          <div class="label">Subscriptions</div>
          <div class="value">{counts.subscriptions}</div>
        </div>
        <div class="stat">
          <div class="label">Events stored</div>
          <div class="value">{kinds ? compact(kinds.total) : "—"}</div>
        </div>
        <div class="stat">
          <div class="label">Events, last 24 h</div>
          <div class="value">{compact(lastDay)}</div>
        </div>
      </div>
      <div class="grid two">
        <section class="card">
          <h2>
            Events per hour <span class="muted small-note">last 48 h, by created_at</span>
          </h2>
          <ColumnChart points={data.perHour} title="Events per hour" />
        </section>
        <section class="card">
          <h2>
            Open connections <span class="muted small-note">last 24 h, sampled each minute</span>
          </h2>
          {data.connections.length
            ? <LineChart points={data.connections} title="Open connections" />
            : <p class="empty">No samples yet: the workers take one a minute.</p>}
        </section>
      </div>
      <div class="grid two">
        <section class="card">
          <h2>Events stored per kind</h2>
          {!kinds
            ? <p class="empty">Counting took too long.</p>
            : kinds.total === 0
            ? <p class="empty">No events stored yet.</p>
            : (
              <Bars
                rows={[
                  ...kinds.kinds.map((k) => ({
                    label: kindLabel(k.kind),
                    value: k.count,
                    href: `/admin/events?kinds=${k.kind}`,
                  })),
                  ...(kinds.other > 0 ? [{ label: "other kinds", value: kinds.other }] : []),
                ]}
              />
            )}
        </section>
        <section class="card">
          <h2>Health</h2>
          <ul class="health" data-testid="health">
            <li>
              <span>Redis</span>
              <span>
                <span class={health.redis.ok ? "badge ok" : "badge bad"}>
                  {health.redis.ok ? "up" : "down"}
                </span>{" "}
                <span class="muted">{health.redis.detail} · {health.redis.ms} ms</span>
              </span>
            </li>
            <li>
              <span>PostgreSQL</span>
              <span>
                <span class={health.postgres.ok ? "badge ok" : "badge bad"}>
                  {health.postgres.ok ? "up" : "down"}
                </span>{" "}
                <span class="muted">{health.postgres.detail} · {health.postgres.ms} ms</span>
              </span>
            </li>
            <li>
              <span>Workers</span>
              <span>
                <span class={workers > 0 ? "badge ok" : "badge bad"}>
                  {workers > 0 ? "seen" : "none"}
                </span>{" "}
                <span class="muted">
                  {health.workers.map((w) =>
                    `${w.queue.replace("nostr-", "")} ${Math.max(0, w.count)}`
                  )
                    .join(" · ")}
                </span>
              </span>
            </li>
            <li>
              <span>Web processes</span>
              <span class="muted">
                {health.webNodes.length === 0
                  ? "none"
                  : health.webNodes.map((n) => `${n.id} ${ago(n.lastSeenMs)}`).join(" · ")}
              </span>
            </li>
          </ul>
        </section>
      </div>
    </>
  );
}
