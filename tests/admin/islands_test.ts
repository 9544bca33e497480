/**
 * Fresh finds islands by crawling islands/; we list them twice (islands/mod.ts for the server,
 * client/islands.ts for the browser), and this test keeps both lists equal to the folder.
 */
import assert from "node:assert/strict";
import { h } from "preact";
import { renderToString } from "preact-render-to-string";
import * as serverIslands from "../../islands/mod.ts";
import { ISLANDS } from "../../client/islands.ts";

const dir = new URL("../../islands/", import.meta.url);

async function islandFiles(): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const m = /^([A-Z][A-Za-z0-9]*)\.tsx$/.exec(e.name);
    if (e.isFile && m) out.push(m[1]!);
  }
  return out.sort();
}

Deno.test("every islands/*.tsx is in islands/mod.ts and client/islands.ts, and nothing else is", async () => {
  const files = await islandFiles();
  assert.ok(files.length > 0);
  assert.deepEqual(Object.keys(serverIslands).sort(), files);
  assert.deepEqual(Object.keys(ISLANDS).sort(), files);
  for (const name of files) {
    const wrapper = (serverIslands as Record<string, { islandName?: string }>)[name]!;
    assert.equal(wrapper.islandName, name, `islands/mod.ts registers ${name} under its own name`);
    const raw = await import(new URL(`${name}.tsx`, dir).href);
    assert.equal(
      ISLANDS[name],
      raw.default,
      `client/islands.ts maps ${name} to its default export`,
    );
  }
});

Deno.test("an island renders inside a data-island wrapper with its props escaped", () => {
  const html = renderToString(h(serverIslands.LiveConnections, {
    rows: [{
      id: "ab".repeat(16),
      ip: `"></div><script>alert(1)</script>`,
      pubkey: "",
      level: 0,
      subscriptions: [],
      requests: 1,
      bytesIn: 2,
      bytesOut: 3,
      startedAt: 0,
    }],
    counts: { connections: 1, authenticated: 0, subscriptions: 0, nodes: 1 },
    total: 1,
    endpoint: "/admin/api/connections",
    closeBase: "/admin/api/connections",
    csrf: "token",
    now: 0,
  }));
  assert.match(html, /^<div data-island="LiveConnections" data-props="\{&quot;rows&quot;/);
  assert.ok(!html.includes("<script>"), "props and text are escaped");
});

Deno.test("the islands bundle is built (deno task build)", async () => {
  const js = await Deno.readTextFile(new URL("../../static/_islands/boot.js", import.meta.url));
  assert.ok(js.includes("data-island") || js.includes("island"), "boot.js hydrates islands");
});
