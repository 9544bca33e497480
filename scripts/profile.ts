/**
 * `deno run --allow-net scripts/profile.ts [inspector host:port] [seconds]`: samples the CPU of a
 * running web or worker process through the V8 inspector and prints where its time went, by
 * package / file and by function (self time). Start the process under test with
 * `--inspect=127.0.0.1:9229` (e.g. `deno run --inspect=127.0.0.1:9229 --allow-net --allow-env
 * workers/main.ts`), put load on it (`deno task bench --only=ingest`), and run this meanwhile.
 * See docs/PERFORMANCE.md ("Where the time goes").
 *
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Groups a script URL into a package or one of our folders. */
export function groupOf(url: string): string {
  if (!url) return "(native / idle / gc)";
  const npm = /registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (npm) return `npm:${npm[1]}`;
  const ours = /\/((?:lib|relay|workers|scripts)\/[^?#]*)$/.exec(url);
  if (ours) return ours[1]!;
  if (url.startsWith("ext:") || url.startsWith("node:")) return "deno runtime";
  return url.replace(/^.*\//, "");
}

/** Self time (ms) per group and per function, from a V8 CPU profile. */
export function summarize(p: Profile, top = 25) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  }
  const groups = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    total += ms;
    const g = functionName === "(idle)" ? "(idle)" : groupOf(url);
    groups.set(g, (groups.get(g) ?? 0) + ms);
    const f = `${functionName || "(anonymous)"} ${g}:${lineNumber + 1}`;
    fns.set(f, (fns.get(f) ?? 0) + ms);
  }
  const busy = total - (groups.get("(idle)") ?? 0);
  const rows = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, ms]) => ({
      name,
      ms: Math.round(ms),
      pct_of_busy: Math.round((ms / busy) * 1000) / 10,
    }));
  return {
    sampled_ms: Math.round(total),
    busy_ms: Math.round(busy),
    groups: rows(groups),
    functions: rows(fns),
  };
}

async function main() {
  const target = Deno.args[0] ?? "127.0.0.1:9229";
  const seconds = Number(Deno.args[1] ?? 10);
  const list = await (await fetch(`http://${target}/json`)).json() as {
    webSocketDebuggerUrl: string;
  }[];
  const url = list[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`Cannot profile: no inspector target at ${target}`);
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let next = 1;
  const waiting = new Map<number, (v: unknown) => void>();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.id && waiting.has(msg.id)) {
      waiting.get(msg.id)!(msg.result);
      waiting.delete(msg.id);
    }
  };
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  await call("Profiler.start");
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const { profile } = await call("Profiler.stop") as { profile: Profile };
  ws.close();
  const out = JSON.stringify(summarize(profile), null, 2);
  await Deno.stdout.write(new TextEncoder().encode(out + "\n"));
}

if (import.meta.main) await main();
