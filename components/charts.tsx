/**
 * Charts rendered on the server as SVG (no script, no inline style: the admin CSP forbids both):
 * a column chart for counts per time bucket, a line chart for a sampled value, and horizontal
 * bars for counts by category.
 *
 * @module
 */

/** One point of a time series: unix seconds and a value. */
export interface Point {
  t: number;
  v: number;
}

const W = 640;
const H = 200;
const PAD = { top: 12, right: 12, bottom: 26, left: 44 };

/** A round upper bound for the y axis and its tick step (a whole number: charts show counts). */
export function niceScale(max: number): { top: number; step: number } {
  if (max <= 0) return { top: 4, step: 1 };
  const raw = Math.max(1, max / 4);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).filter(Number.isInteger)
    .find((s) => s >= raw) ?? 10 * mag;
  return { top: Math.ceil(max / step) * step, step };
}

/** 1234 → "1.2k". */
export function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(n * 10) / 10);
}

function hourLabel(t: number): string {
  return new Date(t * 1000).toISOString().slice(11, 16);
}

function dayLabel(t: number): string {
  return new Date(t * 1000).toISOString().slice(5, 10);
}

/** Labels of `points` to print under the x axis (about six, evenly spread). */
function xTicks(points: Point[], span: number): { i: number; text: string }[] {
  if (!points.length) return [];
  const every = Math.max(1, Math.ceil(points.length / 6));
  const label = span > 2 * 86400 ? dayLabel : hourLabel;
  const out: { i: number; text: string }[] = [];
  for (let i = 0; i < points.length; i += every) out.push({ i, text: label(points[i]!.t) });
  return out;
}

function Frame(props: { top: number; step: number; children: unknown; title: string }) {
  const innerH = H - PAD.top - PAD.bottom;
  const ticks: number[] = [];
  for (let v = 0; v <= props.top + 1e-9; v += props.step) ticks.push(v);
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.title}>
      <title>{props.title}</title>
      {ticks.map((v) => {
        const y = PAD.top + innerH - (v / props.top) * innerH;
        return (
          <g key={v}>
            <line class="grid-line" x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} />
            <text x={PAD.left - 6} y={y + 4} text-anchor="end">{compact(v)}</text>
          </g>
        );
      })}
      <line
        class="axis"
        x1={PAD.left}
        x2={W - PAD.right}
        y1={H - PAD.bottom}
        y2={H - PAD.bottom}
      />
      {props.children as never}
    </svg>
  );
}

/** Columns, one per bucket (e.g. events stored per hour). */
export function ColumnChart(props: { points: Point[]; title: string }) {
  const { points } = props;
  const { top, step } = niceScale(Math.max(0, ...points.map((p) => p.v)));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = innerW / Math.max(points.length, 1);
  const bar = Math.max(1, slot * 0.72);
  const span = points.length > 1 ? points[points.length - 1]!.t - points[0]!.t : 0;
  return (
    <Frame top={top} step={step} title={props.title}>
      {points.map((p, i) => {
        const h = (p.v / top) * innerH;
        return (
          <rect
            key={p.t}
            class="bar"
            x={PAD.left + i * slot + (slot - bar) / 2}
            y={PAD.top + innerH - h}
            width={bar}
            height={Math.max(h, p.v > 0 ? 1 : 0)}
            rx={1.5}
          >
            <title>
              {`${new Date(p.t * 1000).toISOString().slice(0, 16).replace("T", " ")}: ${p.v}`}
            </title>
          </rect>
        );
      })}
      {xTicks(points, span).map(({ i, text }) => (
        <text key={i} x={PAD.left + i * slot + slot / 2} y={H - 8} text-anchor="middle">
          {text}
        </text>
      ))}
    </Frame>
  );
}

/** A line with its area (e.g. open connections sampled every minute). */
export function LineChart(props: { points: Point[]; title: string }) {
  const { points } = props;
  const { top, step } = niceScale(Math.max(0, ...points.map((p) => p.v)));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const t0 = points[0]?.t ?? 0;
  const span = Math.max(1, (points[points.length - 1]?.t ?? 1) - t0);
  const x = (t: number) => PAD.left + ((t - t0) / span) * innerW;
  const y = (v: number) => PAD.top + innerH - (v / top) * innerH;
  const line = points.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`)
    .join(" ");
  const area = points.length
    ? `${line} L${x(points[points.length - 1]!.t).toFixed(1)},${y(0)} L${x(t0).toFixed(1)},${
      y(0)
    } Z`
    : "";
  const ticks = xTicks(points, span);
  return (
    <Frame top={top} step={step} title={props.title}>
      {points.length > 1 && <path class="area" d={area} />}
      {points.length > 1 && <path class="line" d={line} />}
      {points.length === 1 && (
        <circle
          class="bar"
          cx={x(points[0]!.t)}
          cy={y(points[0]!.v)}
          r={3}
        />
      )}
      {ticks.map(({ i, text }) => (
        <text key={i} x={x(points[i]!.t)} y={H - 8} text-anchor="middle">{text}</text>
      ))}
    </Frame>
  );
}

/** Horizontal bars with a label and a count per row (e.g. events stored per kind). */
export function Bars(props: { rows: { label: string; value: number; href?: string }[] }) {
  const max = Math.max(1, ...props.rows.map((r) => r.value));
  return (
    <div class="bars">
      {props.rows.map((r) => (
        <div class="bar-row" key={r.label}>
          <span class="name" title={r.label}>
            {r.href ? <a href={r.href}>{r.label}</a> : r.label}
          </span>
          <svg class="track" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
            <rect class="fill" x={0} y={0} width={(r.value / max) * 100} height={10} rx={0} />
          </svg>
          <span class="count">{r.value.toLocaleString("en-US")}</span>
        </div>
      ))}
    </div>
  );
}
