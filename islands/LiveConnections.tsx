/**
 * The live connection list: rendered on the server with the current rows, then refreshed in the
 * browser every few seconds from a JSON endpoint; each row has a Close button that posts to the
 * admin API with the session's CSRF token.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";

/** One connection as the list shows it (plain data, JSON-serializable). */
export interface ConnectionRow {
  id: string;
  ip: string;
  /** Authenticated pubkey, or "" for anonymous. */
  pubkey: string;
  level: number;
  subscriptions: string[];
  requests: number;
  bytesIn: number;
  bytesOut: number;
  /** Connect time, unix seconds (0 when unknown). */
  startedAt: number;
}

/** Totals over every web process. */
export interface ConnectionTotals {
  connections: number;
  authenticated: number;
  subscriptions: number;
  nodes: number;
}

/** What the JSON endpoint answers. */
export interface ConnectionsSnapshot {
  connections: ConnectionRow[];
  counts: ConnectionTotals;
  /** Connections in all (the list may show only the newest). */
  total: number;
  /** Server time, unix seconds. */
  now: number;
}

/** Props of the island. */
export interface LiveConnectionsProps {
  rows: ConnectionRow[];
  counts: ConnectionTotals;
  total: number;
  /** GET → ConnectionsSnapshot. */
  endpoint: string;
  /** POST `${closeBase}/${id}/close` closes one connection. */
  closeBase: string;
  csrf: string;
  /** Server time (unix s) the rows were read at, for ages. */
  now: number;
  intervalMs?: number;
}

const LEVEL_NAMES = ["anonymous", "authenticated", "registered", "subscriber", "trusted"];

/** 1536 → "1.5 KB". */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** 3725 → "1h 2m". */
export function humanAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

function short(hex: string): string {
  return hex.length > 16 ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : hex;
}

/** The live list of connections. */
export default function LiveConnections(props: LiveConnectionsProps) {
  const [rows, setRows] = useState(props.rows);
  const [counts, setCounts] = useState(props.counts);
  const [total, setTotal] = useState(props.total);
  const [now, setNow] = useState(props.now);
  const [status, setStatus] = useState<"live" | "error">("live");
  const [closing, setClosing] = useState<string | null>(null);
  const [message, setMessage] = useState("");

  async function refresh(): Promise<void> {
    try {
      const res = await fetch(props.endpoint, { headers: { accept: "application/json" } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json() as ConnectionsSnapshot;
      setRows(body.connections);
      setCounts(body.counts);
      setTotal(body.total);
      setNow(body.now);
      setStatus("live");
    } catch {
      setStatus("error");
    }
  }

  useEffect(() => {
    if (typeof document === "undefined") return;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void refresh();
    }, props.intervalMs ?? 2000);
    return () => clearInterval(timer);
  }, []);

  async function close(id: string): Promise<void> {
    setClosing(id);
    try {
      const res = await fetch(`${props.closeBase}/${encodeURIComponent(id)}/close`, {
        method: "POST",
        headers: { "x-csrf-token": props.csrf, accept: "application/json" },
      });
      const body = await res.json().catch(() => ({})) as { error?: string };
      setMessage(res.ok ? `Closed ${short(id)}` : `Cannot close: ${body.error ?? res.status}`);
      await refresh();
    } finally {
      setClosing(null);
    }
  }

  const stats: [string, number][] = [
    ["Open", counts.connections],
    ["Authenticated", counts.authenticated],
    ["Subscriptions", counts.subscriptions],
    ["Web processes", counts.nodes],
  ];
  return (
    <div class="live">
      <div class="stats">
        {stats.map(([label, value]) => (
          <div class="stat" key={label}>
            <div class="label">{label}</div>
            <div class="value">{value}</div>
          </div>
        ))}
      </div>
      <section class="card">
        <p class="live-status" data-status={status}>
          <span class="dot" aria-hidden="true" />
          <strong data-testid="connection-count">{total}</strong>{" "}
          {total === 1 ? "connection" : "connections"}
          <span class="muted">
            {status === "error" ? " · cannot refresh, retrying" : " · refreshes every 2 s"}
          </span>
          {message && <span class="live-message" role="status">{message}</span>}
        </p>
        {rows.length === 0 ? <p class="empty">No open connections.</p> : (
          <div class="table-wrap">
            <table class="table cards" data-testid="connections">
              <thead>
                <tr>
                  <th>Connection</th>
                  <th>IP</th>
                  <th>Pubkey</th>
                  <th>Level</th>
                  <th>Subs</th>
                  <th class="num">Requests</th>
                  <th class="num">In / out</th>
                  <th class="num">Age</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.id} data-cid={r.id}>
                    <td data-label="Connection">
                      <code title={r.id}>{short(r.id)}</code>
                    </td>
                    <td data-label="IP">{r.ip}</td>
                    <td data-label="Pubkey">
                      {r.pubkey
                        ? (
                          <a href={`/admin/events?author=${r.pubkey}`} title={r.pubkey}>
                            <code>{short(r.pubkey)}</code>
                          </a>
                        )
                        : <span class="muted">—</span>}
                    </td>
                    <td data-label="Level">
                      <span class={`badge level-${r.level}`} data-testid="level">
                        {r.level} {LEVEL_NAMES[r.level] ?? ""}
                      </span>
                    </td>
                    <td data-label="Subs" title={r.subscriptions.join(", ")}>
                      {r.subscriptions.length}
                    </td>
                    <td data-label="Requests" class="num">{r.requests}</td>
                    <td data-label="In / out" class="num">
                      {humanBytes(r.bytesIn)} / {humanBytes(r.bytesOut)}
                    </td>
                    <td data-label="Age" class="num">
                      {r.startedAt ? humanAge(now - r.startedAt) : "—"}
                    </td>
                    <td class="actions">
                      <button
                        type="button"
                        class="btn danger small"
                        disabled={closing === r.id}
                        onClick={() => void close(r.id)}
                      >
                        {closing === r.id ? "Closing…" : "Close"}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {total > rows.length && <p class="muted">Showing the newest {rows.length} of {total}.</p>}
      </section>
    </div>
  );
}
