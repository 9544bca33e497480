/**
 * NIP-86 relay management API: JSON-RPC-like POSTs with `Content-Type:
 * application/nostr+json+rpc` on the relay URL, authorized with NIP-98 (relay/nip98.ts) by a
 * pubkey that may call the method (an admin: ADMIN_PUBKEYS or linked to an admin user; or a
 * pubkey granted the method with `assignmethod`). Every method is a call into the service layer
 * (services/moderation.ts), so a ban here is the same ban as on the admin pages.
 *
 * Answers: 200 `{"result": …}` or `{"result": null, "error": "…"}` for a refused call; 401
 * `{"error": "unauthorized: …"}` for missing or bad authorization, or a pubkey that may not call
 * the method; 400 for a body that is not a request; 413 for a body over MAX_BODY_BYTES.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import { errorText } from "../lib/log.ts";
import { type ServiceDeps, ServiceError } from "../services/deps.ts";
import * as moderation from "../services/moderation.ts";
import { CORS_HEADERS, NIP86_CONTENT_TYPE } from "./http.ts";
import { httpUrlOf, verifyNip98 } from "./nip98.ts";

/** Largest request body read. */
export const MAX_BODY_BYTES = 65_536;
/** How long a used NIP-98 event is remembered (it cannot authorize a second request). */
export const REPLAY_TTL_SECONDS = 180;

/** What the handler needs. */
export interface Nip86Deps {
  services: ServiceDeps;
  log: Logger;
  /** Unix seconds; defaults to the system clock. */
  now?: () => number;
  /** Called after a `changerelay*` method (the web process drops its cached NIP-11 document). */
  onRelayInfoChange?: () => void;
}

function reply(status: number, body: Record<string, unknown>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...CORS_HEADERS, "content-type": NIP86_CONTENT_TYPE },
  });
}

/** A refused call: answered 200 with `error`. */
class CallError extends Error {}

function param(params: unknown[], i: number, name: string): string {
  const v = params[i];
  if (typeof v !== "string") {
    throw new CallError(`invalid: param ${i + 1} (${name}) must be a string`);
  }
  return v;
}

function optionalParam(params: unknown[], i: number): string | undefined {
  const v = params[i];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new CallError(`invalid: param ${i + 1} must be a string`);
  return v;
}

function kindParam(params: unknown[]): number {
  const v = params[0];
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new CallError("invalid: param 1 (kind) must be an integer");
  }
  return v;
}

/** Every item of a paged service list. */
async function everyPage<T>(
  list: (
    options: { limit: number; cursor: string | null },
  ) => Promise<{ items: T[]; next: string | null }>,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const page = await list({ limit: moderation.MAX_LIST_PAGE, cursor });
    out.push(...page.items);
    cursor = page.next;
  } while (cursor && out.length < 1_000_000);
  return out;
}

type Method = (
  params: unknown[],
  ctx: { caller: string; allowed: readonly string[] },
) => Promise<unknown>;

/** The methods, by NIP-86 name, as calls into services/moderation.ts. */
function methods(deps: Nip86Deps): Record<moderation.Nip86Method, Method> {
  const s = deps.services;
  const ok = () => true;
  return {
    supportedmethods: (_p, ctx) => Promise.resolve(ctx.allowed),
    banpubkey: (p) =>
      moderation.banPubkey(s, param(p, 0, "pubkey"), { reason: optionalParam(p, 1) }).then(ok),
    unbanpubkey: (p) => moderation.unbanPubkey(s, param(p, 0, "pubkey")).then(ok),
    listbannedpubkeys: async () =>
      (await everyPage((o) => moderation.listBannedPubkeys(s, o)))
        .map((x) => ({ pubkey: x.pubkey, reason: x.reason })),
    allowpubkey: (p) =>
      moderation.allowPubkey(s, param(p, 0, "pubkey"), optionalParam(p, 1)).then(ok),
    unallowpubkey: (p) => moderation.unallowPubkey(s, param(p, 0, "pubkey")).then(ok),
    listallowedpubkeys: async () =>
      (await everyPage((o) => moderation.listAllowedPubkeys(s, o)))
        .map((x) => ({ pubkey: x.pubkey, reason: x.reason })),
    listeventsneedingmoderation: async () =>
      (await moderation.listEventsNeedingModeration(s, { limit: moderation.MAX_LIST_PAGE }))
        .map((x) => ({ id: x.id, reason: x.reason })),
    allowevent: (p) =>
      moderation.allowEvent(s, param(p, 0, "event id"), optionalParam(p, 1)).then(ok),
    unallowevent: (p) => moderation.unallowEvent(s, param(p, 0, "event id")).then(ok),
    banevent: (p) => moderation.banEvent(s, param(p, 0, "event id"), optionalParam(p, 1)).then(ok),
    unbanevent: (p) => moderation.unbanEvent(s, param(p, 0, "event id")).then(ok),
    listbannedevents: async () =>
      (await everyPage((o) => moderation.listBannedEvents(s, o)))
        .map((x) => ({ id: x.id, reason: x.reason })),
    listallowedevents: async () =>
      (await everyPage((o) => moderation.listAllowedEvents(s, o)))
        .map((x) => ({ id: x.id, reason: x.reason })),
    changerelayname: async (p) => {
      await moderation.changeRelayName(s, param(p, 0, "name"));
      deps.onRelayInfoChange?.();
      return true;
    },
    changerelaydescription: async (p) => {
      await moderation.changeRelayDescription(s, param(p, 0, "description"));
      deps.onRelayInfoChange?.();
      return true;
    },
    changerelayicon: async (p) => {
      await moderation.changeRelayIcon(s, param(p, 0, "icon URL"));
      deps.onRelayInfoChange?.();
      return true;
    },
    allowkind: (p) => moderation.allowKind(s, kindParam(p)).then(ok),
    disallowkind: (p) => moderation.disallowKind(s, kindParam(p)).then(ok),
    listallowedkinds: async () => (await moderation.getKindPolicy(s)).allowed,
    listdisallowedkinds: async () => (await moderation.getKindPolicy(s)).disallowed,
    blockip: (p) => moderation.blockIp(s, param(p, 0, "ip"), optionalParam(p, 1)).then(ok),
    unblockip: (p) => moderation.unblockIp(s, param(p, 0, "ip")).then(ok),
    listblockedips: async () =>
      (await moderation.listBlockedIps(s)).map((x) => ({ ip: x.ip, reason: x.reason })),
    createrole: (p) => moderation.createRole(s, roleParams(p)).then(ok),
    editrole: (p) => moderation.editRole(s, roleParams(p)).then(ok),
    deleterole: (p) => moderation.deleteRole(s, param(p, 0, "id")).then(ok),
    assignrole: (p) =>
      moderation.assignRole(s, param(p, 0, "pubkey"), param(p, 1, "role id")).then(ok),
    unassignrole: (p) =>
      moderation.unassignRole(s, param(p, 0, "pubkey"), param(p, 1, "role id")).then(ok),
    assignmethod: (p) => moderation.assignMethod(s, param(p, 0, "pubkey"), param(p, 1, "method")),
    unassignmethod: (p) =>
      moderation.unassignMethod(s, param(p, 0, "pubkey"), param(p, 1, "method")),
    listmethodassignees: () => moderation.listMethodAssignees(s),
  };
}

function roleParams(p: unknown[]): moderation.RoleInput {
  const order = p[4];
  if (
    order !== undefined && order !== null && (typeof order !== "number" || !Number.isInteger(order))
  ) {
    throw new CallError("invalid: param 5 (order) must be an integer");
  }
  return {
    id: param(p, 0, "id"),
    label: optionalParam(p, 1),
    description: optionalParam(p, 2),
    color: optionalParam(p, 3),
    order: typeof order === "number" ? order : undefined,
  };
}

/** Reads at most MAX_BODY_BYTES of the body; null when it is longer. */
async function readBody(req: Request): Promise<Uint8Array | null> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) return null;
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Builds the NIP-86 request handler. */
export function createNip86Handler(deps: Nip86Deps): (req: Request) => Promise<Response> {
  const { services, log } = deps;
  const table = methods(deps);
  const relayUrls = [services.config.relayUrl, httpUrlOf(services.config.relayUrl)];
  return async function nip86(req) {
    const body = await readBody(req);
    if (body === null) {
      return reply(413, { result: null, error: `invalid: body over ${MAX_BODY_BYTES} bytes` });
    }
    const now = deps.now ? deps.now() : Math.floor(Date.now() / 1000);
    const auth = verifyNip98({
      authorization: req.headers.get("authorization"),
      method: req.method,
      urls: [...relayUrls, req.url],
      body,
      now,
    });
    if (!auth.ok) return reply(401, { result: null, error: `unauthorized: ${auth.reason}` });
    const caller = auth.event.pubkey;
    let request: { method?: unknown; params?: unknown };
    try {
      request = JSON.parse(new TextDecoder().decode(body));
    } catch {
      return reply(400, { result: null, error: "invalid: the body is not JSON" });
    }
    if (typeof request !== "object" || request === null || typeof request.method !== "string") {
      return reply(400, { result: null, error: "invalid: expected {method, params}" });
    }
    const params = request.params ?? [];
    if (!Array.isArray(params)) {
      return reply(400, { result: null, error: "invalid: params must be an array" });
    }
    const name = request.method;
    try {
      const allowed = await moderation.allowedMethods(services, caller);
      if (!allowed.length) {
        return reply(401, { result: null, error: "unauthorized: this pubkey is not an admin" });
      }
      if (!(name in table)) {
        return reply(200, { result: null, error: `unsupported method: ${JSON.stringify(name)}` });
      }
      if (!(allowed as readonly string[]).includes(name)) {
        return reply(401, {
          result: null,
          error: `unauthorized: this pubkey may not call ${name}`,
        });
      }
      const fresh = await services.redis.set(
        services.keys.nip98Used(auth.event.sig),
        caller,
        "EX",
        REPLAY_TTL_SECONDS,
        "NX",
      );
      if (fresh !== "OK") {
        return reply(401, {
          result: null,
          error: "unauthorized: this Authorization event was already used",
        });
      }
      const result = await table[name as moderation.Nip86Method](params, { caller, allowed });
      log.info("NIP-86 call", { pubkey: caller, method: name });
      return reply(200, { result });
    } catch (err) {
      if (err instanceof CallError || err instanceof ServiceError) {
        return reply(200, { result: null, error: err.message });
      }
      log.error("Cannot run NIP-86 call", { pubkey: caller, method: name, error: errorText(err) });
      return reply(500, { result: null, error: "error: the call failed, try again" });
    }
  };
}
