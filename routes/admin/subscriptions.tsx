/**
 * `/admin/subscriptions`: subscriptions (auth level 3 until their expiry): grant for N days,
 * extend or shorten by N days, revoke. Every change re-computes the level of live connections.
 *
 * @module
 */
import {
  type AuthorSubscription,
  extendSubscription,
  grantSubscription,
  listSubscriptions,
  revokeSubscription,
} from "../../services/access.ts";
import type { Page } from "../../services/_input.ts";
import { PageHead, Pager, PostForm, Pubkey, relative, Time } from "../../components/ui.tsx";
import { act, type Handlers, page, type PageProps } from "../_define.ts";

type Status = "all" | "active" | "expired";

interface Data {
  list: Page<AuthorSubscription>;
  status: Status;
}

export const title = "Subscriptions";

function statusOf(s: string | null): Status {
  return s === "active" || s === "expired" ? s : "all";
}

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const status = statusOf(ctx.url.searchParams.get("status"));
    const list = await listSubscriptions(ctx.deps.services, {
      cursor: ctx.url.searchParams.get("cursor"),
      status,
    });
    return page({ list, status });
  },
  POST(ctx) {
    const { services } = ctx.deps;
    const { pubkey = "", days = "", action = "grant" } = ctx.form;
    return act("/admin/subscriptions", async () => {
      if (action === "revoke") {
        return await revokeSubscription(services, pubkey)
          ? "Subscription revoked."
          : "There was no subscription to revoke.";
      }
      const n = Number(days);
      const sub = action === "extend"
        ? await extendSubscription(services, pubkey, n)
        : action === "shorten"
        ? await extendSubscription(services, pubkey, -Math.abs(n))
        : await grantSubscription(services, pubkey, n);
      const until = sub.expiresAt.toISOString().slice(0, 16).replace("T", " ");
      return sub.active
        ? `Subscription active until ${until} UTC.`
        : `Subscription expired (${until} UTC).`;
    });
  },
};

export default function SubscriptionsPage({ data, csrf, url }: PageProps<Data>) {
  const now = Date.now();
  const tabs: Status[] = ["all", "active", "expired"];
  return (
    <>
      <PageHead
        title="Subscriptions"
        sub="A pubkey with an active subscription gets auth level 3."
      />
      <section class="card">
        <h2>Grant a subscription</h2>
        <PostForm action="/admin/subscriptions" csrf={csrf} class="row">
          <label>
            Pubkey (hex or npub)
            <input type="text" name="pubkey" required spellcheck={false} autocomplete="off" />
          </label>
          <label class="small">
            Days
            <input type="number" name="days" min="1" value="30" required />
          </label>
          <input type="hidden" name="action" value="grant" />
          <button type="submit" class="btn primary">Grant</button>
        </PostForm>
      </section>
      <section class="card">
        <h2>
          <span>Subscriptions</span>
          <span class="row">
            {tabs.map((t) => (
              <a
                key={t}
                href={t === "all" ? "/admin/subscriptions" : `/admin/subscriptions?status=${t}`}
                class={t === data.status ? "btn small primary" : "btn small"}
              >
                {t}
              </a>
            ))}
          </span>
        </h2>
        {data.list.items.length === 0
          ? <p class="empty">No subscriptions.</p>
          : (
            <div class="table-wrap">
              <table class="table cards">
                <thead>
                  <tr>
                    <th>Pubkey</th>
                    <th>Status</th>
                    <th>Expires</th>
                    <th class="actions">Change by days</th>
                  </tr>
                </thead>
                <tbody>
                  {data.list.items.map((s) => (
                    <tr key={s.pubkey} data-pubkey={s.pubkey}>
                      <td data-label="Pubkey">
                        <Pubkey hex={s.pubkey} />
                      </td>
                      <td data-label="Status">
                        {s.active
                          ? <span class="badge ok">active</span>
                          : <span class="badge bad">expired</span>}
                      </td>
                      <td data-label="Expires">
                        <Time t={s.expiresAt} />{" "}
                        <span class="muted">({relative(s.expiresAt, now)})</span>
                      </td>
                      <td class="actions">
                        <PostForm action="/admin/subscriptions" csrf={csrf}>
                          <input type="hidden" name="pubkey" value={s.pubkey} />
                          <input
                            type="number"
                            name="days"
                            min="1"
                            value="30"
                            class="days"
                            aria-label="Days"
                          />
                          <button type="submit" name="action" value="extend" class="btn small">
                            Extend
                          </button>
                          <button type="submit" name="action" value="shorten" class="btn small">
                            Shorten
                          </button>
                          <button
                            type="submit"
                            name="action"
                            value="revoke"
                            class="btn danger small"
                          >
                            Revoke
                          </button>
                        </PostForm>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        <Pager url={url} next={data.list.next} count={data.list.items.length} noun="subscription" />
      </section>
    </>
  );
}
