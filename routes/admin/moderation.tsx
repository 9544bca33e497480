/**
 * `/admin/moderation`: the reported-events queue (NIP-56 reports not yet reviewed), banned
 * pubkeys and events (unban), and blocked IPs (block, unblock). The same lists NIP-86 edits.
 *
 * @module
 */
import {
  allowEvent,
  banEvent,
  type BlockedIp,
  blockIp,
  listBannedEvents,
  listBannedPubkeys,
  listBlockedIps,
  type ListedEvent,
  type ListedPubkey,
  listEventsNeedingModeration,
  type ReportedEvent,
  unbanEvent,
  unbanPubkey,
  unblockIp,
} from "../../services/moderation.ts";
import { ServiceError } from "../../services/deps.ts";
import { PageHead, PostForm, Pubkey, shortHex, Time } from "../../components/ui.tsx";
import { act, type Handlers, page, type PageProps } from "../_define.ts";

interface Data {
  reported: ReportedEvent[];
  pubkeys: ListedPubkey[];
  events: ListedEvent[];
  ips: BlockedIp[];
}

export const title = "Moderation";

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const s = ctx.deps.services;
    const [reported, pubkeys, events, ips] = await Promise.all([
      listEventsNeedingModeration(s, { limit: 50 }),
      listBannedPubkeys(s, { limit: 100 }),
      listBannedEvents(s, { limit: 100 }),
      listBlockedIps(s),
    ]);
    return page({ reported, pubkeys: pubkeys.items, events: events.items, ips });
  },
  POST(ctx) {
    const s = ctx.deps.services;
    const f = ctx.form;
    return act("/admin/moderation", async () => {
      switch (f.action) {
        case "allow-event":
          await allowEvent(s, f.id ?? "", f.reason);
          return "Event kept and removed from the queue.";
        case "ban-event":
          await banEvent(s, f.id ?? "", f.reason);
          return "Event banned.";
        case "unban-event":
          return await unbanEvent(s, f.id ?? "") ? "Event unbanned." : "It was not banned.";
        case "unban-pubkey":
          return await unbanPubkey(s, f.pubkey ?? "") ? "Pubkey unbanned." : "It was not banned.";
        case "block-ip": {
          const r = await blockIp(s, f.ip ?? "", f.reason);
          return `${
            r.blocked ? "IP blocked" : "IP was already blocked"
          }; ${r.closed} connections closed.`;
        }
        case "unblock-ip":
          return await unblockIp(s, f.ip ?? "") ? "IP unblocked." : "It was not blocked.";
        default:
          throw new ServiceError("invalid", "Unknown action");
      }
    });
  },
};

function Hidden(props: { fields: Record<string, string> }) {
  return (
    <>
      {Object.entries(props.fields).map(([k, v]) => (
        <input key={k} type="hidden" name={k} value={v} />
      ))}
    </>
  );
}

export default function ModerationPage({ data, csrf }: PageProps<Data>) {
  return (
    <>
      <PageHead
        title="Moderation"
        sub="Bans take effect at once: banned pubkeys cannot publish, banned events are not served."
      />
      <section class="card">
        <h2>Reported events</h2>
        {data.reported.length === 0
          ? <p class="empty">Nothing waits for review.</p>
          : (
            <div class="table-wrap">
              <table class="table cards">
                <thead>
                  <tr>
                    <th>Event</th>
                    <th>Author</th>
                    <th class="num">Kind</th>
                    <th>Reports</th>
                    <th>Last report</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {data.reported.map((r) => (
                    <tr key={r.id}>
                      <td data-label="Event">
                        <a href={`/admin/events/${r.id}`} class="mono">{shortHex(r.id)}</a>
                      </td>
                      <td data-label="Author">
                        <Pubkey hex={r.pubkey} />
                      </td>
                      <td data-label="Kind" class="num">{r.kind}</td>
                      <td data-label="Reports">
                        {r.reports} <span class="muted">{r.types.join(", ")}</span>
                      </td>
                      <td data-label="Last report">
                        <Time t={r.lastReportAt} />
                      </td>
                      <td class="actions">
                        <PostForm action="/admin/moderation" csrf={csrf}>
                          <Hidden fields={{ id: r.id }} />
                          <button type="submit" name="action" value="allow-event" class="btn small">
                            Keep
                          </button>
                          <button
                            type="submit"
                            name="action"
                            value="ban-event"
                            class="btn danger small"
                          >
                            Ban
                          </button>
                        </PostForm>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </section>
      <div class="grid two">
        <section class="card">
          <h2>
            Banned pubkeys <span class="muted">{data.pubkeys.length}</span>
          </h2>
          {data.pubkeys.length === 0
            ? <p class="empty">None.</p>
            : (
              <table class="table cards" data-testid="banned-pubkeys">
                <tbody>
                  {data.pubkeys.map((p) => (
                    <tr key={p.pubkey}>
                      <td data-label="Pubkey">
                        <Pubkey hex={p.pubkey} />
                        {p.reason && <div class="muted small-note">{p.reason}</div>}
                      </td>
                      <td class="actions">
                        <PostForm action="/admin/moderation" csrf={csrf}>
                          <Hidden fields={{ action: "unban-pubkey", pubkey: p.pubkey }} />
                          <button type="submit" class="btn small">Unban</button>
                        </PostForm>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          <p class="muted small-note mt">Ban a pubkey from the Events page or an event's page.</p>
        </section>
        <section class="card">
          <h2>
            Banned events <span class="muted">{data.events.length}</span>
          </h2>
          {data.events.length === 0 ? <p class="empty">None.</p> : (
            <table class="table cards">
              <tbody>
                {data.events.map((e) => (
                  <tr key={e.id}>
                    <td data-label="Event">
                      <a href={`/admin/events/${e.id}`} class="mono">{shortHex(e.id)}</a>
                      {e.reason && <div class="muted small-note">{e.reason}</div>}
                    </td>
                    <td class="actions">
                      <PostForm action="/admin/moderation" csrf={csrf}>
                        <Hidden fields={{ action: "unban-event", id: e.id }} />
                        <button type="submit" class="btn small">Unban</button>
                      </PostForm>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <section class="card">
        <h2>Blocked IPs</h2>
        <PostForm action="/admin/moderation" csrf={csrf} class="row">
          <input type="hidden" name="action" value="block-ip" />
          <label>
            IP address
            <input type="text" name="ip" required spellcheck={false} />
          </label>
          <label>
            Reason
            <input type="text" name="reason" placeholder="optional" />
          </label>
          <button type="submit" class="btn danger">Block IP</button>
        </PostForm>
        {data.ips.length > 0 && (
          <div class="table-wrap mt">
            <table class="table cards">
              <thead>
                <tr>
                  <th>IP</th>
                  <th>Reason</th>
                  <th>Since</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {data.ips.map((b) => (
                  <tr key={b.ip}>
                    <td data-label="IP" class="mono">{b.ip}</td>
                    <td data-label="Reason">{b.reason || <span class="muted">—</span>}</td>
                    <td data-label="Since">
                      <Time t={b.createdAt} />
                    </td>
                    <td class="actions">
                      <PostForm action="/admin/moderation" csrf={csrf}>
                        <Hidden fields={{ action: "unblock-ip", ip: b.ip }} />
                        <button type="submit" class="btn small">Unblock</button>
                      </PostForm>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
