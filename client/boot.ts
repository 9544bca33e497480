/// <reference lib="dom" />
/**
 * Browser entry of the admin UI (bundled into static/_islands/boot.js by `deno task build`):
 * hydrates every `[data-island]` element with its component and the props the server rendered.
 *
 * @module
 */
import { h, hydrate } from "preact";
import { ISLANDS } from "./islands.ts";

for (const el of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const C = ISLANDS[el.dataset.island ?? ""];
  if (!C) continue;
  hydrate(h(C, JSON.parse(el.dataset.props ?? "{}")), el);
}
