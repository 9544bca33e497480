/**
 * `/admin/events`: stored events, newest first, filtered by author, kinds, one tag, a time range
 * and NIP-50 full text; keyset pages (`cursor`), never OFFSET. Ban forms for a pubkey or an event.
 *
 * @module
 */
import {
  banEvent,
  banPubkey,
  browseEvents,
  type EventBrowseFilter,
  type StoredEvent,
} from "../../services/events.ts";
import type { Page } from "../../services/_input.ts";
import { ServiceError } from "../../services/deps.ts";
import { PageHead, Pager, PostForm, Pubkey, shortHex, Time } from "../../components/ui.tsx";
import { act, type Handlers, page, type PageProps } from "../_define.ts";

/** The filter form's fields, as typed. */
interface Query {
  author: string;
  kinds: string;
  tag: string;
  since: string;
  until: string;
  q: string;
}

interface Data {
  query: Query;
  list: Page<StoredEvent>;
  error?: string;
}

export const title = "Events";

const FIELDS = ["author", "kinds", "tag", "since", "until", "q"] as const;

/** `2026-11-25T10:31` (UTC, as the form shows) → unix seconds. */
function unixOf(v: string, what: string): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  if (Number.isNaN(ms)) throw new ServiceError("invalid", `Cannot browse events: bad ${what} time`);
  return Math.floor(ms / 1000);
}

/** The service filter from the form. */
export function filterOf(q: Query): EventBrowseFilter {
  const f: EventBrowseFilter = {};
  if (q.author) f.author = q.author;
  if (q.kinds) {
    f.kinds = q.kinds.split(/[\s,]+/).filter(Boolean).map((k) => {
      if (!/^\d+$/.test(k)) {
        throw new ServiceError("invalid", `Cannot browse events: "${k}" is not a kind`);
      }
      return Number(k);
    });
  }
  if (q.tag) {
    const m = /^#?([a-zA-Z])[:=](.*)$/.exec(q.tag);
    if (!m) throw new ServiceError("invalid", 'Cannot browse events: write a tag as "t:value"');
    f.tag = { name: m[1]!, value: m[2]! };
  }
  const since = unixOf(q.since, "since");
  const until = unixOf(q.until, "until");
  if (since !== undefined) f.since = since;
  if (until !== undefined) f.until = until;
  if (q.q) f.search = q.q;
  return f;
}

function preview(e: StoredEvent): string {
  const text = e.content.replace(/\s+/g, " ").trim();
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const p = ctx.url.searchParams;
    const query = Object.fromEntries(
      FIELDS.map((k) => [k, (p.get(k) ?? "").trim()]),
    ) as unknown as Query;
    try {
      const list = await browseEvents(ctx.deps.services, filterOf(query), {
        cursor: p.get("cursor"),
        limit: Number(p.get("limit")) || 50,
      });
      return page({ query, list });
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      return page({ query, list: { items: [], next: null }, error: err.message }, { status: 400 });
    }
  },
  POST(ctx) {
    const s = ctx.deps.services;
    const f = ctx.form;
    const back = f.back?.startsWith("/admin/events") ? f.back : "/admin/events";
    return act(back, async () => {
      if (f.action === "ban-pubkey") {
        const r = await banPubkey(s, f.pubkey ?? "", {
          reason: f.reason,
          deleteEvents: f.delete === "on",
        });
        ctx.deps.log.info("admin banned a pubkey", { by: ctx.state.user?.id, ...r });
        return `${r.banned ? "Pubkey banned" : "Pubkey was already banned"}${
          f.delete === "on" ? `; ${r.deleted} events deleted` : ""
        }.`;
      }
      if (f.action === "ban-event") {
        const r = await banEvent(s, f.id ?? "", f.reason);
        return `${r.banned ? "Event banned" : "Event was already banned"}${
          r.deleted ? " and deleted" : ""
        }.`;
      }
      throw new ServiceError("invalid", "Unknown action");
    });
  },
};

export default function EventsPage({ data, csrf, url }: PageProps<Data>) {
  const q = data.query;
  const filtered = FIELDS.some((k) => q[k]);
  return (
    <>
      <PageHead title="Events" sub="Stored events, newest first. Times are UTC." />
      {data.error && <p class="flash error" role="alert">{data.error}</p>}
      <section class="card">
        <form method="get" action="/admin/events" class="filters">
          <label>
            Author
            <input
              type="text"
              name="author"
              value={q.author}
              placeholder="hex or npub"
              spellcheck={false}
            />
          </label>
          <label>
            Kinds
            <input type="text" name="kinds" value={q.kinds} placeholder="1, 30023" />
          </label>
          <label>
            Tag
            <input type="text" name="tag" value={q.tag} placeholder="t:nostr" spellcheck={false} />
          </label>
          <label>
            Since
            <input type="datetime-local" name="since" value={q.since} />
          </label>
          <label>
            Until
            <input type="datetime-local" name="until" value={q.until} />
          </label>
          <label>
            Full text
            <input type="search" name="q" value={q.q} placeholder="words" />
          </label>
          <div class="buttons">
            <button type="submit" class="btn primary">Filter</button>
            {filtered && <a href="/admin/events" class="btn">Clear</a>}
          </div>
        </form>
      </section>
      <section class="card">
        {data.list.items.length === 0
          ? <p class="empty">No events match.</p>
          : (
            <div class="table-wrap">
              <table class="table cards" data-testid="events">
                <thead>
                  <tr>
                    <th>Created</th>
                    <th class="num">Kind</th>
                    <th>Author</th>
                    <th>Content</th>
                    <th>Id</th>
                  </tr>
                </thead>
                <tbody>
                  {data.list.items.map((e) => (
                    <tr key={e.id}>
                      <td data-label="Created">
                        <Time t={e.created_at} />
                      </td>
                      <td data-label="Kind" class="num">{e.kind}</td>
                      <td data-label="Author">
                        <Pubkey hex={e.pubkey} />
                      </td>
                      <td data-label="Content" class="wrap">
                        {preview(e) || <span class="muted">(empty)</span>}
                      </td>
                      <td data-label="Id">
                        <a href={`/admin/events/${e.id}`} class="mono" title={e.id}>
                          {shortHex(e.id)}
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        <Pager url={url} next={data.list.next} count={data.list.items.length} noun="event" />
      </section>
      <div class="grid two">
        <section class="card">
          <h2>Ban a pubkey</h2>
          <p class="muted">Its new events are refused at once.</p>
          <PostForm action="/admin/events" csrf={csrf} class="stack">
            <input type="hidden" name="action" value="ban-pubkey" />
            <div class="row">
              <label>
                Pubkey
                <input type="text" name="pubkey" required value={q.author} spellcheck={false} />
              </label>
              <label>
                Reason
                <input type="text" name="reason" placeholder="optional" />
              </label>
            </div>
            <div class="row center">
              <label class="check">
                <input type="checkbox" name="delete" /> Also delete its stored events
              </label>
              <button type="submit" class="btn danger">Ban pubkey</button>
            </div>
          </PostForm>
        </section>
        <section class="card">
          <h2>Ban an event</h2>
          <p class="muted">Deleted if stored, and refused from now on.</p>
          <PostForm action="/admin/events" csrf={csrf} class="stack">
            <input type="hidden" name="action" value="ban-event" />
            <div class="row">
              <label>
                Event id
                <input
                  type="text"
                  name="id"
                  required
                  placeholder="hex or note"
                  spellcheck={false}
                />
              </label>
              <label>
                Reason
                <input type="text" name="reason" placeholder="optional" />
              </label>
            </div>
            <div>
              <button type="submit" class="btn danger">Ban event</button>
            </div>
          </PostForm>
        </section>
      </div>
    </>
  );
}
