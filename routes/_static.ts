/**
 * Static files of the admin UI (`static/`, served under `/admin/static/`): the stylesheet and the
 * islands bundle. Only plain relative paths with a known extension are served; nothing outside
 * the folder can be named.
 *
 * @module
 */

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  map: "application/json; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
};

const SAFE_PATH = /^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*\/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** A handler for `rel` (the path below the static folder). */
export async function serveStatic(dir: URL, rel: string, req: Request): Promise<Response> {
  const ext = rel.slice(rel.lastIndexOf(".") + 1);
  const type = TYPES[ext];
  if (!type || !SAFE_PATH.test(rel) || rel.includes("..")) {
    return new Response("not found", { status: 404 });
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(new URL(rel, dir), { read: true });
  } catch {
    return new Response("not found", { status: 404 });
  }
  const info = await file.stat();
  if (!info.isFile) {
    file.close();
    return new Response("not found", { status: 404 });
  }
  const headers = {
    "content-type": type,
    "content-length": String(info.size),
    // Links carry ?v=<build id>, so a changed file gets a new URL.
    "cache-control": "public, max-age=86400",
    "x-content-type-options": "nosniff",
  };
  if (req.method === "HEAD") {
    file.close();
    return new Response(null, { headers });
  }
  return new Response(file.readable, { headers });
}

/** A short id of the files the layout links (changes whenever one of them does). */
export async function buildId(dir: URL, files: string[]): Promise<string> {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    try {
      parts.push(await Deno.readFile(new URL(f, dir)));
    } catch {
      parts.push(new TextEncoder().encode(`missing:${f}`));
    }
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
}
