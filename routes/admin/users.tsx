/**
 * `/admin/users`: users (search by email, newest first) and a form to create one.
 *
 * @module
 */
import { createUser, listUsers, type User } from "../../services/users.ts";
import type { Page } from "../../services/_input.ts";
import { PageHead, Pager, PostForm, Time } from "../../components/ui.tsx";
import { act, type Handlers, page, type PageProps } from "../_define.ts";

interface Data {
  list: Page<User>;
  search: string;
}

export const title = "Users";

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const search = ctx.url.searchParams.get("q") ?? "";
    const list = await listUsers(ctx.deps.services, {
      cursor: ctx.url.searchParams.get("cursor"),
      search,
    });
    return page({ list, search });
  },
  POST(ctx) {
    const { email = "", password = "", admin } = ctx.form;
    return act("/admin/users", async () => {
      const user = await createUser(ctx.deps.services, {
        email,
        password,
        admin: admin === "on",
      });
      ctx.deps.log.info("admin created a user", { user: user.id, by: ctx.state.user?.id });
      return `Created ${user.email}${user.admin ? " (admin)" : ""}.`;
    });
  },
};

export default function UsersPage({ data, csrf, url }: PageProps<Data>) {
  return (
    <>
      <PageHead
        title="Users"
        sub="A pubkey linked to a user gets auth level 2. Admins can sign in here."
      />
      <div class="grid two">
        <section class="card">
          <h2>Create a user</h2>
          <PostForm action="/admin/users" csrf={csrf} class="stack">
            <div class="row">
              <label>
                Email
                <input type="email" name="email" required autocomplete="off" />
              </label>
              <label>
                Password
                <input
                  type="password"
                  name="password"
                  required
                  minLength={8}
                  autocomplete="new-password"
                />
              </label>
            </div>
            <div class="row center">
              <label class="check">
                <input type="checkbox" name="admin" /> Admin
              </label>
              <button type="submit" class="btn primary">Create user</button>
            </div>
          </PostForm>
        </section>
        <section class="card">
          <h2>Find a user</h2>
          <form method="get" action="/admin/users" class="row">
            <label>
              Email contains
              <input type="search" name="q" value={data.search} />
            </label>
            <button type="submit" class="btn">Search</button>
            {data.search && <a href="/admin/users" class="btn link">Clear</a>}
          </form>
        </section>
      </div>
      <section class="card">
        {data.list.items.length === 0
          ? <p class="empty">No users found.</p>
          : (
            <div class="table-wrap">
              <table class="table cards">
                <thead>
                  <tr>
                    <th>Email</th>
                    <th>Role</th>
                    <th>Confirmed</th>
                    <th class="num">Pubkeys</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {data.list.items.map((u) => (
                    <tr key={u.id}>
                      <td data-label="Email">
                        <a href={`/admin/users/${u.id}`}>{u.email}</a>
                      </td>
                      <td data-label="Role">
                        {u.admin
                          ? <span class="badge level-2">admin</span>
                          : <span class="badge">user</span>}
                      </td>
                      <td data-label="Confirmed">
                        {u.confirmedAt ? <Time t={u.confirmedAt} /> : <span class="muted">no</span>}
                      </td>
                      <td data-label="Pubkeys" class="num">{u.pubkeys.length}</td>
                      <td data-label="Created">
                        <Time t={u.createdAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        <Pager url={url} next={data.list.next} count={data.list.items.length} noun="user" />
      </section>
    </>
  );
}
