/**
 * The admin layout: head, top bar with navigation, flash message from `?ok=` / `?error=`, the page,
 * and the islands script (cache-busted with the bundle's build id).
 *
 * @module
 */
import type { ComponentChildren } from "preact";
import type { AdminUser } from "./_define.ts";

/** Navigation entries, in order. */
export const NAV: { href: string; label: string }[] = [
  { href: "/admin", label: "Overview" },
  { href: "/admin/connections", label: "Connections" },
  { href: "/admin/config", label: "Configuration" },
  { href: "/admin/trusted", label: "Trusted" },
  { href: "/admin/subscriptions", label: "Subscriptions" },
  { href: "/admin/users", label: "Users" },
  { href: "/admin/events", label: "Events" },
  { href: "/admin/moderation", label: "Moderation" },
  { href: "/admin/jobs", label: "Jobs" },
];

/** Props of the layout. */
export interface LayoutProps {
  title: string;
  url: URL;
  user?: AdminUser;
  csrf: string;
  relayName: string;
  /** Cache-busting id of static files. */
  buildId: string;
  /** Pages outside the signed-in area (login, errors for anonymous visitors) omit the nav. */
  bare?: boolean;
  children: ComponentChildren;
}

function active(href: string, path: string): boolean {
  return href === "/admin" ? path === "/admin" || path === "/admin/" : path.startsWith(href);
}

/** The document around every admin page. */
export function Layout(props: LayoutProps) {
  const path = props.url.pathname;
  const ok = props.url.searchParams.get("ok");
  const error = props.url.searchParams.get("error");
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${props.title} · ${props.relayName} admin`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={`/admin/static/admin.css?v=${props.buildId}`} />
      </head>
      <body class={props.bare ? "bare" : ""}>
        {!props.bare && (
          <header class="topbar">
            <a class="brand" href="/admin">
              <span class="logo" aria-hidden="true">⚡</span>
              {props.relayName}
            </a>
            <nav class="nav" aria-label="Admin">
              {NAV.map((n) => (
                <a key={n.href} href={n.href} class={active(n.href, path) ? "active" : ""}>
                  {n.label}
                </a>
              ))}
            </nav>
            {props.user && (
              <form method="post" action="/admin/logout" class="who">
                <input type="hidden" name="_csrf" value={props.csrf} />
                <span class="muted" title={props.user.email}>{props.user.email}</span>
                <button type="submit" class="btn link" title={`Log out ${props.user.email}`}>
                  Log out
                </button>
              </form>
            )}
          </header>
        )}
        <main class="main">
          {ok && <p class="flash ok" role="status">{ok}</p>}
          {error && <p class="flash error" role="alert">{error}</p>}
          {props.children}
        </main>
        {!props.bare && (
          <script type="module" src={`/admin/static/_islands/boot.js?v=${props.buildId}`} />
        )}
      </body>
    </html>
  );
}
