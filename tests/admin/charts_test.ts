import assert from "node:assert/strict";
import { h } from "preact";
import { renderToString } from "preact-render-to-string";
import { Bars, ColumnChart, compact, LineChart, niceScale } from "../../components/charts.tsx";

Deno.test("niceScale() gives whole-number steps and a round top", () => {
  assert.deepEqual(niceScale(0), { top: 4, step: 1 });
  assert.deepEqual(niceScale(2), { top: 2, step: 1 });
  assert.deepEqual(niceScale(9), { top: 10, step: 5 });
  assert.deepEqual(niceScale(17), { top: 20, step: 5 });
  assert.deepEqual(niceScale(930), { top: 1000, step: 250 });
});

Deno.test("compact() shortens large counts", () => {
  assert.equal(compact(950), "950");
  assert.equal(compact(1234), "1.2k");
  assert.equal(compact(45_000), "45k");
  assert.equal(compact(2_500_000), "2.5M");
});

Deno.test("charts render as SVG without inline style or script (the admin CSP forbids both)", () => {
  const points = [{ t: 3600, v: 1 }, { t: 7200, v: 5 }, { t: 10800, v: 0 }];
  const html = renderToString(h("div", null, [
    h(ColumnChart, { points, title: "Events per hour" }),
    h(LineChart, { points, title: "Connections" }),
    h(Bars, { rows: [{ label: "1 · note", value: 3 }, { label: "<b>7</b>", value: 1 }] }),
  ]));
  assert.equal((html.match(/<svg class="chart"/g) ?? []).length, 2);
  assert.equal((html.match(/<rect class="bar"/g) ?? []).length, 3);
  assert.match(html, /<path class="line" d="M/);
  assert.ok(!/style=|<script/.test(html));
  assert.ok(html.includes("&lt;b>7&lt;/b>"), "labels are escaped");
});
