/**
 * Headless Debian chromium driven by playwright-core, under the test task's permissions.
 *
 * Two accommodations for Deno: playwright-core probes `/proc/sys/fs/binfmt_misc/WSLInterop`
 * (WSL detection) when it loads, and Deno lets no one read `/proc` without --allow-all, so that
 * one probe answers false here; and playwright's temporary profile and artifacts go to
 * test-artifacts/tmp (TMPDIR), the one folder the test task may write.
 *
 * @module
 */
import fs from "node:fs";
import type { Browser } from "playwright-core";

const WSL_PROBE = "/proc/sys/fs/binfmt_misc/WSLInterop";
const existsSync = fs.existsSync;
fs.existsSync = function existsSyncOutsideProc(path: fs.PathLike): boolean {
  return String(path) === WSL_PROBE ? false : existsSync(path);
} as typeof fs.existsSync;

/** Where screenshots go (gitignored). */
export const ARTIFACTS = new URL("../../test-artifacts/admin/", import.meta.url);
const tmp = new URL("../../test-artifacts/tmp/", import.meta.url);
await Deno.mkdir(tmp, { recursive: true });
await Deno.mkdir(ARTIFACTS, { recursive: true });
Deno.env.set("TMPDIR", tmp.pathname);

const { chromium } = await import("playwright-core");

/** Debian's chromium, as installed by .ci/run. */
export const CHROMIUM = "/usr/bin/chromium";

/** Launches headless chromium with the flags this closed network needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** True when the browser is installed (the browser tests are skipped, loudly, otherwise). */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}
