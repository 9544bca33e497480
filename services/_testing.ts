/**
 * Shared fixture of the service tests: one fresh database (migrated) and one random Redis
 * prefix per test file, and ServiceDeps on them.
 *
 * @module
 */
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { type Config, loadConfig } from "../lib/config.ts";
import type { NostrEvent } from "../lib/nostr/event.ts";
import { deletePrefix, freshDatabase } from "../tests/_harness.ts";
import { openServiceDeps, type OwnedServiceDeps } from "./deps.ts";

/** What a service test receives. */
export interface ServiceFixture {
  deps: OwnedServiceDeps;
  config: Config;
  prefix: string;
}

/** A random lowercase hex string of `n` characters. */
export function randomHex(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(n / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, n);
}

/**
 * Registers the tests of one file against one shared fixture (created by the first test that
 * runs); `end()` registers the teardown and must be called last.
 */
export function serviceSuite(env: Record<string, string> = {}) {
  let fixture: Promise<ServiceFixture & { drop(): Promise<void> }> | undefined;
  function get() {
    return fixture ??= (async function makeFixture() {
      const db = await freshDatabase();
      const prefix = `st${randomHex(10)}:`;
      const config = loadConfig({
        DATABASE_URL: db.url,
        REDIS_URL: Deno.env.get("TEST_REDIS_URL") ?? "redis://127.0.0.1:6379",
        REDIS_PREFIX: prefix,
        LOG_LEVEL: "error",
        ...env,
      });
      const deps = openServiceDeps(config, { appName: "service-test" });
      return {
        deps,
        config,
        prefix,
        async drop() {
          await deletePrefix(deps.redis, prefix);
          await deps.close();
          await db.drop();
        },
      };
    })();
  }
  return {
    test(
      name: string,
      fn: (fx: ServiceFixture) => Promise<void>,
      options: { ignore?: boolean } = {},
    ) {
      Deno.test({
        name,
        ignore: options.ignore ?? false,
        sanitizeOps: false,
        sanitizeResources: false,
        fn: async () => await fn(await get()),
      });
    },
    end() {
      Deno.test({
        name: "(fixture teardown)",
        sanitizeOps: false,
        sanitizeResources: false,
        fn: async () => {
          if (fixture) await (await fixture).drop();
        },
      });
    },
  };
}

/** A fresh random pubkey (no secret key kept). */
export function randomPubkey(): string {
  return getPublicKey(generateSecretKey());
}

/** A key pair that signs events. */
export interface TestSigner {
  sk: Uint8Array;
  pubkey: string;
  sign(t?: { kind?: number; content?: string; tags?: string[][]; created_at?: number }): NostrEvent;
}

/** A new key pair; events default to kind 1 created now. */
export function testSigner(): TestSigner {
  const sk = generateSecretKey();
  return {
    sk,
    pubkey: getPublicKey(sk),
    sign(t = {}) {
      const e = finalizeEvent({
        kind: t.kind ?? 1,
        content: t.content ?? `note ${randomHex(8)}`,
        tags: t.tags ?? [],
        created_at: t.created_at ?? Math.floor(Date.now() / 1000),
      }, sk);
      return JSON.parse(JSON.stringify(e)) as NostrEvent;
    },
  };
}
