/**
 * CPU and memory of the processes under test, from `ps` and `top` (Deno 2.9 refuses reads under
 * /proc without --allow-all, so the bench task grants `--allow-run=ps,top` instead). A selector
 * is a pid, an exact argv element (`main.ts`, `workers/main.ts`) or a process name (`postgres`,
 * `redis-server`); a selector may match several processes (Postgres backends), whose figures are
 * summed. RSS comes from `ps` (KB); CPU time from `top`'s TIME+ (hundredths of a second), or from
 * `ps` in whole seconds when `top` cannot run.
 *
 * @module
 */
import { round2 } from "./stats.ts";

interface PsRow {
  pid: number;
  rssKb: number;
  cpuS: number;
  comm: string;
  argv: string[];
}

const ROW = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/;

/** One `ps` listing of every process; empty when ps cannot run. */
export async function listProcesses(): Promise<PsRow[]> {
  try {
    const out = await new Deno.Command("ps", {
      args: ["-e", "-o", "pid=,rss=,cputimes=,comm=,args="],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return [];
    const rows: PsRow[] = [];
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      const m = ROW.exec(line);
      if (!m) continue;
      rows.push({
        pid: Number(m[1]),
        rssKb: Number(m[2]),
        cpuS: Number(m[3]),
        comm: m[4] ?? "",
        argv: (m[5] ?? "").split(/\s+/),
      });
    }
    return rows;
  } catch {
    return [];
  }
}

function parseCpuTime(s: string): number | null {
  let m = /^(\d+):(\d+)\.(\d+)$/.exec(s);
  if (m) return Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) / 100;
  m = /^(\d+):(\d+)$/.exec(s);
  if (m) return Number(m[1]) * 60 + Number(m[2]);
  m = /^(\d+),(\d+)$/.exec(s);
  if (m) return Number(m[1]) * 3600 + Number(m[2]) * 60;
  return null;
}

async function topBatch(pids: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  try {
    const res = await new Deno.Command("top", {
      args: ["-b", "-n", "1", "-d", "0.05", "-w", "512", "-p", pids.join(",")],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!res.success) return out;
    let timeCol = -1;
    for (const line of new TextDecoder().decode(res.stdout).split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (fields[0] === "PID") {
        timeCol = fields.indexOf("TIME+");
        continue;
      }
      if (timeCol < 0 || !/^\d+$/.test(fields[0] ?? "")) continue;
      const t = parseCpuTime(fields[timeCol] ?? "");
      if (t !== null) out.set(Number(fields[0]), t);
    }
  } catch {
    // top missing or not allowed: whole seconds from ps remain
  }
  return out;
}

/** CPU seconds (to 0.01 s) of each pid, from `top` (at most 20 pids per call). */
export async function cpuTimes(pids: number[]): Promise<Map<number, number>> {
  const batches: number[][] = [];
  for (let i = 0; i < pids.length; i += 20) batches.push(pids.slice(i, i + 20));
  const maps = await Promise.all(batches.map(topBatch));
  return new Map(maps.flatMap((m) => [...m]));
}

/** The rows a selector names (never the bench's own process unless named by pid). */
export function select(rows: PsRow[], selector: string): PsRow[] {
  if (/^\d+$/.test(selector)) return rows.filter((r) => r.pid === Number(selector));
  return rows.filter((r) =>
    r.pid !== Deno.pid && r.comm !== "ps" && (r.comm === selector || r.argv.includes(selector))
  );
}

interface Snapshot {
  at: number;
  rows: PsRow[];
}

function rssOf(rows: PsRow[]): number {
  return rows.reduce((s, r) => s + r.rssKb, 0);
}

/** CPU and memory of one watched label over one scenario. */
export interface ProcReport {
  pids: number[];
  /** Seconds the watch ran. */
  wall_s: number;
  /**
   * CPU seconds used during the scenario, and % of one core (null when the watch ran under 2 s,
   * too short for the sampling's precision).
   */
  cpu_s: number;
  cpu_pct: number | null;
  rss_start_kb: number;
  rss_end_kb: number;
  rss_peak_kb: number;
}

/** Watches labelled selectors over a scenario: start(), then the returned stop() reports. */
export class ProcWatch {
  #selectors: Record<string, string>;

  constructor(selectors: Record<string, string>) {
    this.#selectors = { bench: String(Deno.pid), ...selectors };
  }

  /** Labels other than the bench itself. */
  get labels(): string[] {
    return Object.keys(this.#selectors).filter((l) => l !== "bench");
  }

  /** Current total RSS (KB) of a label and its pids, or null when it matches no process. */
  async rss(label: string): Promise<{ kb: number; pids: number[] } | null> {
    const sel = this.#selectors[label];
    if (sel === undefined) return null;
    const rows = select(await listProcesses(), sel);
    if (rows.length === 0) return null;
    return { kb: rssOf(rows), pids: rows.map((r) => r.pid) };
  }

  /** Starts sampling every `intervalMs`; the returned function ends it and reports. */
  async start(intervalMs = 1000): Promise<() => Promise<Record<string, ProcReport>>> {
    const entries = Object.entries(this.#selectors);
    const take = async (): Promise<Snapshot[]> => {
      const rows = await listProcesses();
      const chosen = entries.map(([, sel]) => select(rows, sel));
      const precise = await cpuTimes([...new Set(chosen.flat().map((r) => r.pid))]);
      const at = performance.now();
      return chosen.map((rs) => ({
        at,
        rows: rs.map((r) => ({ ...r, cpuS: precise.get(r.pid) ?? r.cpuS })),
      }));
    };
    const first = await take();
    const peaks = first.map((s) => rssOf(s.rows));
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      (await take()).forEach((s, i) => peaks[i] = Math.max(peaks[i] ?? 0, rssOf(s.rows)));
      busy = false;
    }, intervalMs);
    return async () => {
      clearInterval(timer);
      const last = await take();
      const out: Record<string, ProcReport> = {};
      entries.forEach(([label], i) => {
        const a = first[i] as Snapshot;
        const b = last[i] as Snapshot;
        const startCpu = new Map(a.rows.map((r) => [r.pid, r.cpuS]));
        // Processes that appeared during the scenario count from zero; ones that left are lost.
        const cpu = b.rows.reduce((s, r) => s + r.cpuS - (startCpu.get(r.pid) ?? 0), 0);
        const wall = (b.at - a.at) / 1000;
        out[label] = {
          pids: [...new Set([...a.rows, ...b.rows].map((r) => r.pid))].sort((x, y) => x - y),
          wall_s: round2(wall),
          cpu_s: round2(cpu),
          cpu_pct: wall >= 2 ? round2((100 * cpu) / wall) : null,
          rss_start_kb: rssOf(a.rows),
          rss_end_kb: rssOf(b.rows),
          rss_peak_kb: Math.max(peaks[i] ?? 0, rssOf(b.rows)),
        };
      });
      return out;
    };
  }
}
