/**
 * Small server-only building blocks shared by the admin pages.
 *
 * @module
 */
import type { ComponentChildren } from "preact";

/** Title row of a page, with an optional line under it and actions on the right. */
export function PageHead(
  props: { title: string; sub?: ComponentChildren; children?: ComponentChildren },
) {
  return (
    <div class="page-head">
      <div>
        <h1>{props.title}</h1>
        {props.sub && <p class="muted">{props.sub}</p>}
      </div>
      {props.children && <div class="row">{props.children}</div>}
    </div>
  );
}

/** The hidden CSRF field every admin form posts. */
export function Csrf(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/** A form posting to `action` with the CSRF field, laid out inline. */
export function PostForm(
  props: { action: string; csrf: string; class?: string; children: ComponentChildren },
) {
  return (
    <form method="post" action={props.action} class={props.class}>
      <Csrf token={props.csrf} />
      {props.children}
    </form>
  );
}

/** `abcdef01…89abcd` for a 64-hex value, with the full value in the tooltip. */
export function shortHex(hex: string): string {
  return hex.length > 20 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}

/** A pubkey linking to its events. */
export function Pubkey(props: { hex: string; full?: boolean }) {
  return (
    <a href={`/admin/events?author=${props.hex}`} title={props.hex} class="mono">
      {props.full ? props.hex : shortHex(props.hex)}
    </a>
  );
}

/** `2026-11-25 10:31` (UTC) from a Date or unix seconds. */
export function formatTime(t: Date | number | null | undefined): string {
  if (t === null || t === undefined) return "—";
  const d = typeof t === "number" ? new Date(t * 1000) : t;
  if (Number.isNaN(d.getTime())) return "—";
  return d.toISOString().slice(0, 16).replace("T", " ");
}

/** A time with the full ISO value in the tooltip. */
export function Time(props: { t: Date | number | null | undefined }) {
  const d = props.t === null || props.t === undefined
    ? null
    : typeof props.t === "number"
    ? new Date(props.t * 1000)
    : props.t;
  return <time datetime={d?.toISOString()} title={d?.toISOString()}>{formatTime(props.t)}</time>;
}

/** "in 3 days", "2 hours ago". */
export function relative(t: Date, now = Date.now()): string {
  const s = Math.round((t.getTime() - now) / 1000);
  const a = Math.abs(s);
  const [n, unit] = a < 60
    ? [a, "second"]
    : a < 3600
    ? [Math.round(a / 60), "minute"]
    : a < 86400
    ? [Math.round(a / 3600), "hour"]
    : [Math.round(a / 86400), "day"];
  const text = `${n} ${unit}${n === 1 ? "" : "s"}`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

/** Previous/next links of a keyset-paginated list. */
export function Pager(props: { url: URL; next: string | null; count: number; noun: string }) {
  const hasCursor = props.url.searchParams.has("cursor");
  const first = new URL(props.url);
  first.searchParams.delete("cursor");
  first.searchParams.delete("ok");
  first.searchParams.delete("error");
  const next = new URL(first);
  if (props.next) next.searchParams.set("cursor", props.next);
  return (
    <div class="pager">
      <span class="muted">
        {props.count} {props.noun}
        {props.count === 1 ? "" : "s"} on this page
      </span>
      <span class="row">
        {hasCursor && <a class="btn small" href={first.pathname + first.search}>First page</a>}
        {props.next && <a class="btn small" href={next.pathname + next.search}>Next page →</a>}
      </span>
    </div>
  );
}
