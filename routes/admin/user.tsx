/**
 * `/admin/users/:id`: one user: make or remove admin, confirm, link and unlink pubkeys (their
 * connections' levels are re-computed), set a password, delete.
 *
 * @module
 */
import {
  deleteUser,
  getUser,
  linkPubkey,
  setAdmin,
  setConfirmed,
  setPassword,
  unlinkPubkey,
  type User,
} from "../../services/users.ts";
import { PageHead, PostForm, Pubkey, Time } from "../../components/ui.tsx";
import { act, type Handlers, HttpError, page, type PageProps, redirect } from "../_define.ts";

interface Data {
  user: User;
  self: boolean;
}

export const title = "User";

function userId(raw: string | undefined): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(404, "No such user.");
  return id;
}

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const user = await getUser(ctx.deps.services, userId(ctx.params.id));
    if (!user) throw new HttpError(404, "No such user.");
    return page({ user, self: user.id === ctx.state.user?.id });
  },
  async POST(ctx) {
    const id = userId(ctx.params.id);
    const s = ctx.deps.services;
    const back = `/admin/users/${id}`;
    const f = ctx.form;
    if (f.action === "delete") {
      const res = await act(back, async () => {
        await deleteUser(s, id);
        return "";
      });
      const location = res.headers.get("location") ?? "";
      return location.includes("error=") ? res : redirect("/admin/users?ok=User+deleted.");
    }
    return act(back, async () => {
      switch (f.action) {
        case "admin":
          await setAdmin(s, id, f.value === "on");
          return f.value === "on" ? "Now an admin." : "No longer an admin.";
        case "confirm":
          await setConfirmed(s, id, f.value === "on");
          return f.value === "on" ? "Email marked confirmed." : "Email marked unconfirmed.";
        case "link":
          await linkPubkey(s, id, f.pubkey ?? "", { nip05: f.nip05 });
          return "Pubkey linked.";
        case "unlink":
          return await unlinkPubkey(s, f.pubkey ?? "") ? "Pubkey unlinked." : "It was not linked.";
        case "password":
          await setPassword(s, id, f.password ?? "");
          return "Password changed.";
        default:
          throw new HttpError(400, "Unknown action.");
      }
    });
  },
};

export default function UserPage({ data, csrf }: PageProps<Data>) {
  const { user } = data;
  return (
    <>
      <PageHead
        title={user.email}
        sub={<a href="/admin/users">← All users</a>}
      >
        {user.admin ? <span class="badge level-2">admin</span> : <span class="badge">user</span>}
      </PageHead>
      <div class="grid two">
        <section class="card">
          <h2>Account</h2>
          <dl class="props">
            <dt>Id</dt>
            <dd>{user.id}</dd>
            <dt>Created</dt>
            <dd>
              <Time t={user.createdAt} />
            </dd>
            <dt>Email confirmed</dt>
            <dd>{user.confirmedAt ? <Time t={user.confirmedAt} /> : "no"}</dd>
          </dl>
          <div class="row mt">
            <PostForm action={`/admin/users/${user.id}`} csrf={csrf}>
              <input type="hidden" name="action" value="admin" />
              <input type="hidden" name="value" value={user.admin ? "off" : "on"} />
              <button type="submit" class={user.admin ? "btn danger" : "btn primary"}>
                {user.admin ? "Remove admin" : "Make admin"}
              </button>
            </PostForm>
            <PostForm action={`/admin/users/${user.id}`} csrf={csrf}>
              <input type="hidden" name="action" value="confirm" />
              <input type="hidden" name="value" value={user.confirmedAt ? "off" : "on"} />
              <button type="submit" class="btn">
                {user.confirmedAt ? "Mark unconfirmed" : "Mark confirmed"}
              </button>
            </PostForm>
          </div>
        </section>
        <section class="card">
          <h2>Set a password</h2>
          <PostForm action={`/admin/users/${user.id}`} csrf={csrf} class="row">
            <input type="hidden" name="action" value="password" />
            <label>
              New password
              <input
                type="password"
                name="password"
                required
                minLength={8}
                autocomplete="new-password"
              />
            </label>
            <button type="submit" class="btn">Save</button>
          </PostForm>
        </section>
      </div>
      <section class="card">
        <h2>Linked pubkeys</h2>
        {user.pubkeys.length === 0
          ? <p class="empty">No pubkeys linked.</p>
          : (
            <div class="table-wrap">
              <table class="table cards">
                <tbody>
                  {user.pubkeys.map((pk) => (
                    <tr key={pk}>
                      <td data-label="Pubkey">
                        <Pubkey hex={pk} full />
                      </td>
                      <td class="actions">
                        <PostForm action={`/admin/users/${user.id}`} csrf={csrf}>
                          <input type="hidden" name="action" value="unlink" />
                          <input type="hidden" name="pubkey" value={pk} />
                          <button type="submit" class="btn danger small">Unlink</button>
                        </PostForm>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        <PostForm action={`/admin/users/${user.id}`} csrf={csrf} class="row mt">
          <input type="hidden" name="action" value="link" />
          <label>
            Pubkey (hex or npub)
            <input type="text" name="pubkey" required spellcheck={false} autocomplete="off" />
          </label>
          <label class="small">
            NIP-05 name
            <input type="text" name="nip05" placeholder="optional" />
          </label>
          <button type="submit" class="btn primary">Link pubkey</button>
        </PostForm>
      </section>
      {!data.self && (
        <section class="card">
          <h2>Delete this user</h2>
          <p class="muted">Its pubkey links go with it. The last admin cannot be deleted.</p>
          <PostForm action={`/admin/users/${user.id}`} csrf={csrf}>
            <input type="hidden" name="action" value="delete" />
            <button type="submit" class="btn danger">Delete user</button>
          </PostForm>
        </section>
      )}
    </>
  );
}
