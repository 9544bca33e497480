/**
 * `/admin/trusted`: trusted authors (auth level 4). Adding or removing one re-computes the level
 * of its live connections.
 *
 * @module
 */
import {
  addTrustedAuthor,
  countTrustedAuthors,
  listTrustedAuthors,
  removeTrustedAuthor,
  type TrustedAuthor,
} from "../../services/access.ts";
import type { Page } from "../../services/_input.ts";
import { PageHead, Pager, PostForm, Pubkey, Time } from "../../components/ui.tsx";
import { act, type Handlers, page, type PageProps } from "../_define.ts";

interface Data {
  list: Page<TrustedAuthor>;
  total: number;
}

export const title = "Trusted authors";

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const [list, total] = await Promise.all([
      listTrustedAuthors(ctx.deps.services, { cursor: ctx.url.searchParams.get("cursor") }),
      countTrustedAuthors(ctx.deps.services),
    ]);
    return page({ list, total });
  },
  POST(ctx) {
    const { services } = ctx.deps;
    const pubkey = ctx.form.pubkey ?? "";
    return act("/admin/trusted", async () => {
      if (ctx.form.action === "remove") {
        return await removeTrustedAuthor(services, pubkey)
          ? "Removed from the trusted authors."
          : "It was not a trusted author.";
      }
      return await addTrustedAuthor(services, pubkey)
        ? "Added to the trusted authors."
        : "It already was a trusted author.";
    });
  },
};

export default function TrustedPage({ data, csrf, url }: PageProps<Data>) {
  return (
    <>
      <PageHead
        title="Trusted authors"
        sub={`${data.total} trusted. A trusted author's connections get auth level 4.`}
      />
      <section class="card">
        <h2>Add a trusted author</h2>
        <PostForm action="/admin/trusted" csrf={csrf} class="row">
          <label>
            Pubkey (hex or npub)
            <input type="text" name="pubkey" required spellcheck={false} autocomplete="off" />
          </label>
          <button type="submit" class="btn primary">Trust</button>
        </PostForm>
      </section>
      <section class="card">
        {data.list.items.length === 0
          ? <p class="empty">No trusted authors yet.</p>
          : (
            <div class="table-wrap">
              <table class="table cards">
                <thead>
                  <tr>
                    <th>Pubkey</th>
                    <th>Trusted since</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {data.list.items.map((t) => (
                    <tr key={t.pubkey}>
                      <td data-label="Pubkey">
                        <Pubkey hex={t.pubkey} />
                      </td>
                      <td data-label="Since">
                        <Time t={t.createdAt} />
                      </td>
                      <td class="actions">
                        <PostForm action="/admin/trusted" csrf={csrf}>
                          <input type="hidden" name="pubkey" value={t.pubkey} />
                          <input type="hidden" name="action" value="remove" />
                          <button type="submit" class="btn danger small">Remove</button>
                        </PostForm>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        <Pager url={url} next={data.list.next} count={data.list.items.length} noun="author" />
      </section>
    </>
  );
}
