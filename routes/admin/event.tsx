/**
 * `/admin/events/:id`: one event (stored or not): its JSON, ban and tombstone state, reports;
 * delete it (tombstoned like NIP-09), ban it, or ban its author.
 *
 * @module
 */
import {
  banEvent,
  banPubkey,
  deleteEvent,
  type EventLookup,
  getEvent,
  unbanEvent,
} from "../../services/events.ts";
import { PageHead, PostForm, Pubkey, Time } from "../../components/ui.tsx";
import { act, type Handlers, HttpError, page, type PageProps } from "../_define.ts";
import { ServiceError } from "../../services/deps.ts";

interface Data {
  id: string;
  lookup: EventLookup;
}

export const title = "Event";

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const id = ctx.params.id ?? "";
    try {
      return page({ id, lookup: await getEvent(ctx.deps.services, id) });
    } catch (err) {
      if (err instanceof ServiceError) throw new HttpError(404, err.message);
      throw err;
    }
  },
  POST(ctx) {
    const id = ctx.params.id ?? "";
    const s = ctx.deps.services;
    const f = ctx.form;
    return act(`/admin/events/${encodeURIComponent(id)}`, async () => {
      switch (f.action) {
        case "delete":
          return await deleteEvent(s, id)
            ? "Event deleted; it cannot be stored again."
            : "The event was not stored.";
        case "ban-event": {
          const r = await banEvent(s, id, f.reason);
          return r.banned ? "Event banned." : "The event was already banned.";
        }
        case "unban-event":
          return await unbanEvent(s, id) ? "Event unbanned." : "The event was not banned.";
        case "ban-author": {
          const r = await banPubkey(s, f.pubkey ?? "", {
            reason: f.reason,
            deleteEvents: f.delete === "on",
          });
          return `${r.banned ? "Author banned" : "Author was already banned"}${
            f.delete === "on" ? `; ${r.deleted} events deleted` : ""
          }.`;
        }
        default:
          throw new ServiceError("invalid", "Unknown action");
      }
    });
  },
};

export default function EventPage({ data, csrf }: PageProps<Data>) {
  const { event, banned, tombstoned, reports } = data.lookup;
  const action = `/admin/events/${data.id}`;
  return (
    <>
      <PageHead title="Event" sub={<a href="/admin/events">← All events</a>}>
        {event ? <span class="badge ok">stored</span> : <span class="badge">not stored</span>}
        {banned && <span class="badge bad">banned</span>}
        {tombstoned && <span class="badge warn">deleted</span>}
        {reports > 0 && <span class="badge warn">{reports} reports</span>}
      </PageHead>
      <section class="card">
        <dl class="props">
          <dt>Id</dt>
          <dd class="mono">{event?.id ?? data.id}</dd>
          {event && (
            <>
              <dt>Author</dt>
              <dd>
                <Pubkey hex={event.pubkey} full />
              </dd>
              <dt>Kind</dt>
              <dd>{event.kind}</dd>
              <dt>Created</dt>
              <dd>
                <Time t={event.created_at} /> UTC
              </dd>
              {event.expiresAt !== null && (
                <>
                  <dt>Expires</dt>
                  <dd>
                    <Time t={event.expiresAt} /> UTC
                  </dd>
                </>
              )}
            </>
          )}
        </dl>
      </section>
      {event && (
        <section class="card">
          <h2>JSON</h2>
          <pre data-testid="event-json">{JSON.stringify({ ...event, expiresAt: undefined }, null, 2)}</pre>
        </section>
      )}
      <section class="card">
        <h2>Actions</h2>
        <div class="row">
          {event && (
            <PostForm action={action} csrf={csrf}>
              <input type="hidden" name="action" value="delete" />
              <button type="submit" class="btn danger">Delete event</button>
            </PostForm>
          )}
          <PostForm action={action} csrf={csrf}>
            <input type="hidden" name="action" value={banned ? "unban-event" : "ban-event"} />
            <button type="submit" class={banned ? "btn" : "btn danger"}>
              {banned ? "Unban event" : "Ban event"}
            </button>
          </PostForm>
          {event && (
            <PostForm action={action} csrf={csrf} class="inline">
              <input type="hidden" name="action" value="ban-author" />
              <input type="hidden" name="pubkey" value={event.pubkey} />
              <button type="submit" class="btn danger">Ban author</button>
              <label class="check">
                <input type="checkbox" name="delete" /> and delete all its events
              </label>
            </PostForm>
          )}
        </div>
      </section>
    </>
  );
}
