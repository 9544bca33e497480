/**
 * The web process: HTTP and websockets on Deno.serve, two Redis connections in total (commands
 * plus BullMQ queues on one, pub/sub on the other) whatever the number of clients, a heartbeat
 * in `nodes`, the live index, the gatekeeping (admission, fast auth, rate limit, policies), and
 * one timer for counters, idle timeouts and housekeeping.
 *
 * @module
 */
import { Queue } from "bullmq";
import type { Config } from "../lib/config.ts";
import {
  type AuthorizeJob,
  type CountRequestJob,
  JOBS,
  type NewEventJob,
  type NewSubscriptionJob,
  NODE_ID_LENGTH,
  QUEUES,
  redisKeys,
} from "../lib/contract.ts";
import { connectPostgres, type Sql } from "../lib/db.ts";
import { errorText, type Logger } from "../lib/log.ts";
import { connectRedis } from "../lib/redis.ts";
import { getRelayInfo } from "../services/moderation.ts";
import { CLOSE } from "./close_codes.ts";
import { type Admission, Connection, type ConnectionDeps } from "./connection.ts";
import { TrafficCounters } from "./counters.ts";
import { createBatcher, type JobBatcher } from "./enqueue.ts";
import {
  type AsyncHttpHandler,
  createHandler,
  withAdmin,
  withManagement,
  withObservability,
} from "./http.ts";
import { metricsResponse } from "../lib/metrics.ts";
import { WebMetrics } from "./metrics.ts";
import { createLiveHandler, postgresSearch } from "./live.ts";
import { createNip86Handler } from "./nip86.ts";
import { nip11Source } from "./nip11.ts";
import {
  admission,
  clientIp,
  createRateLimiter,
  defaultPolicies,
  parseFastAuth,
  readAdmission,
} from "./policies/mod.ts";
import type { SubStream } from "./sub_stream.ts";
import { SubscriptionIndex } from "./subscriptions.ts";
import { randomHex, watchRedis, withTimeout } from "./runtime.ts";

/** A running web process. */
export interface WebHandle {
  /** The port actually listened on (config.port 0 picks a free one). */
  port: number;
  /** This process's node id, the first NODE_ID_LENGTH chars of each of its connection ids. */
  nodeId: string;
  /** Closes every socket (1001), removes their Redis state and releases every resource. */
  close(): Promise<void>;
}

const TICK_MS = 1000;
const HEARTBEAT_MS = 5000;
const STARTUP_TIMEOUT_MS = 10_000;
const SHUTDOWN_STEP_MS = 3000;
/** Longest wait at shutdown for the OKs of EVENTs already queued. */
const DRAIN_MS = 5000;
/** Longest wait for each check of `/readyz`. */
const READY_TIMEOUT_MS = 2000;
/** Longest wait for the admission read before admitting anyway (fail open). */
const ADMISSION_TIMEOUT_MS = 2000;

/** Starts the web process: listens, connects to Redis and begins serving relay clients. */
export async function startWeb(
  deps: {
    config: Config;
    log: Logger;
    /** The admin UI, answering `/admin` paths (routes/). */
    admin?: AsyncHttpHandler;
  },
): Promise<WebHandle> {
  const { config } = deps;
  const nodeId = randomHex(NODE_ID_LENGTH);
  const log = deps.log.child({ node: nodeId });
  const keys = redisKeys(config.redisPrefix);
  const redis = connectRedis(config.redisUrl, { name: `nostr-web-${nodeId}` });
  const subscriber = connectRedis(config.redisUrl, { name: `nostr-web-${nodeId}-sub` });
  watchRedis(redis, "command", log);
  watchRedis(subscriber, "subscriber", log);
  const queueOptions = { connection: redis, prefix: keys.bullPrefix };
  const queues = [
    new Queue<NewEventJob>(QUEUES.event, queueOptions),
    new Queue<NewSubscriptionJob>(QUEUES.req, queueOptions),
    new Queue<CountRequestJob>(QUEUES.count, queueOptions),
    new Queue<AuthorizeJob>(QUEUES.auth, queueOptions),
  ] as const;
  for (const q of queues) {
    q.on(
      "error",
      (err: Error) => log.warn("Queue error", { queue: q.name, error: errorText(err) }),
    );
  }
  const ready = () => redis.status === "ready";
  const metrics = new WebMetrics({ connections: () => connections.size, queues });
  /** `b` with the time of each push recorded, to time the job's first reply. */
  function timed<T extends { cid: string }>(
    b: JobBatcher<T>,
    job: string,
    key: (data: T) => string,
  ): JobBatcher<T> {
    return {
      push(data) {
        metrics.enqueued(job, data.cid, key(data));
        return b.push(data);
      },
      drain: () => b.drain(),
    };
  }
  const jobs = {
    event: createBatcher(queues[0], JOBS.newEvent, { ready }),
    req: timed(
      createBatcher(queues[1], JOBS.newSubscription, { ready }),
      JOBS.newSubscription,
      (j) => j.sid,
    ),
    count: timed(
      createBatcher(queues[2], JOBS.countRequest, { ready }),
      JOBS.countRequest,
      (j) => j.sid,
    ),
    auth: timed(createBatcher(queues[3], JOBS.authorize, { ready }), JOBS.authorize, eventIdOf),
  };

  let admissionFailing = false;
  /** Hot limits, read at every connect; when Redis cannot answer, admits (fail open). */
  async function admit(ip: string): Promise<Admission> {
    try {
      if (!ready()) throw new Error(`Redis is ${redis.status}`);
      const state = await withTimeout(
        readAdmission(redis, keys, ip),
        ADMISSION_TIMEOUT_MS,
        "admission read",
      );
      admissionFailing = false;
      return { refusal: admission(state), unlimited: state.unlimited };
    } catch (err) {
      if (!admissionFailing) {
        admissionFailing = true;
        log.warn("Cannot read admission state, admitting connections until Redis answers", {
          error: errorText(err),
        });
      }
      return { unlimited: false };
    }
  }

  let sql: Sql | undefined;
  /** The process's small PostgreSQL pool (live search, NIP-86), opened on first use. */
  function pool(): Sql {
    return sql ??= connectPostgres(config.databaseUrl, { max: 2, appName: "nostr-relay-web" });
  }
  const index = new SubscriptionIndex<SubStream>();
  const connections = new Map<string, Connection>();
  const counters = new TrafficCounters();
  const hub: ConnectionDeps = {
    config,
    log,
    keys,
    redis,
    index,
    counters,
    jobs,
    connections,
    maxSubscriptions: config.maxSubscriptions,
    admit,
    rateLimit: config.rateLimitMaxRequests > 0
      ? createRateLimiter({
        redis,
        keys,
        maxRequests: config.rateLimitMaxRequests,
        windowSeconds: config.rateLimitWindowSeconds,
        memberPrefix: nodeId,
        log,
      })
      : undefined,
    policies: defaultPolicies(config),
    draining: () => draining,
    metrics,
  };
  const onLive = createLiveHandler({
    index,
    searchKinds: config.searchKinds,
    dmPrivacy: config.dmPrivacy,
    log,
    search: postgresSearch(pool, config.searchLanguage),
  });

  const channelPrefix = keys.connectionChannel("");
  subscriber.on("pmessage", function onReply(_pattern: string, channel: string, message: string) {
    const cid = channel.slice(channelPrefix.length);
    metrics.reply(cid, message);
    connections.get(cid)?.reply(message);
  });
  subscriber.on("message", function onMessage(channel: string, message: string) {
    if (channel === keys.liveChannel) onLive(message);
  });
  try {
    await withTimeout(
      Promise.all([
        redis.hset(keys.nodes, nodeId, Date.now()),
        subscriber.psubscribe(keys.nodeChannelPattern(nodeId)),
        subscriber.subscribe(keys.liveChannel),
      ]),
      STARTUP_TIMEOUT_MS,
      `Redis at ${config.redisUrl.replace(/:[^:@/]*@/, ":***@")}`,
    );
  } catch (err) {
    await Promise.all(queues.map((q) => q.close().catch(() => {})));
    redis.disconnect();
    subscriber.disconnect();
    throw new Error(`Cannot start web process: ${errorText(err)}`);
  }

  let closing: Promise<void> | undefined;
  /** Shutdown began: new EVENT, REQ and COUNT are refused while queued EVENTs are answered. */
  let draining = false;

  /** The checks of `/readyz`: "ok" or why each failed. */
  async function readiness(): Promise<Record<string, string>> {
    const checks: [string, () => Promise<unknown>][] = [
      [
        "redis",
        () => ready() ? redis.ping() : Promise.reject(new Error(`Redis is ${redis.status}`)),
      ],
      ["postgres", () => pool()`select 1`],
      ["queues", () => Promise.all(queues.map((q) => q.getJobCounts("waiting")))],
    ];
    const results = await Promise.all(checks.map(async ([name, check]) => {
      try {
        await withTimeout(check(), READY_TIMEOUT_MS, name);
        return [name, "ok"] as const;
      } catch (err) {
        return [name, errorText(err)] as const;
      }
    }));
    const out: Record<string, string> = Object.fromEntries(results);
    if (closing) out.shutdown = "the process is shutting down";
    return out;
  }

  const handler = createHandler({
    config,
    isClosing: () => closing !== undefined,
    onWebSocket(req, info) {
      // remoteAddr is unreadable once the request is upgraded
      const remote = (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname ?? "unknown";
      const ip = clientIp(req.headers, remote, config.trustProxyHeader);
      const fast = parseFastAuth(new URL(req.url).searchParams, {
        relayUrl: config.relayUrl,
        windowSeconds: config.fastAuthWindowSeconds,
        now: Math.floor(Date.now() / 1000),
        limits: config,
      });
      let upgraded: ReturnType<typeof Deno.upgradeWebSocket>;
      try {
        upgraded = Deno.upgradeWebSocket(req);
      } catch (err) {
        return new Response(`Cannot upgrade to websocket: ${errorText(err)}`, { status: 400 });
      }
      new Connection(upgraded.socket, nodeId + randomHex(24), ip, hub, fast);
      return upgraded.response;
    },
  });
  const info = nip11Source(config, () => getRelayInfo({ redis, keys }), { log });
  const nip86 = config.nip86Enabled
    ? createNip86Handler({
      services: { sql: pool(), redis, keys, config },
      log,
      onRelayInfoChange: () => info.invalidate(),
    })
    : undefined;
  const server = Deno.serve(
    { hostname: config.hostname, port: config.port, onListen: () => {} },
    withObservability(
      withManagement(deps.admin ? withAdmin(handler, deps.admin) : handler, {
        nip86,
        nip11: () => info.json(),
      }),
      { metrics: () => metricsResponse(metrics.registry), readiness },
    ),
  );
  log.info("web process listening", { hostname: config.hostname, port: server.addr.port });

  const tick = setInterval(function everySecond() {
    const now = Date.now();
    for (const conn of connections.values()) conn.tick(now);
    metrics.prune();
    counters.flush(() => redis.pipeline(), keys).catch((err: unknown) => {
      log.warn("Cannot write traffic counters", { error: errorText(err) });
    });
  }, TICK_MS);
  /**
   * Redis came back after a loss (maybe empty, after a restart without persistence): write the
   * heartbeat and every open connection's state again (idempotent when nothing was lost).
   */
  let redisLost = false;
  redis.on("close", function redisClosed() {
    redisLost = true;
  });
  redis.on("ready", function redisBack() {
    if (!redisLost || closing) return;
    redisLost = false;
    void recordAgain();
  });
  async function recordAgain(): Promise<void> {
    const open = [...connections.values()];
    try {
      await redis.hset(keys.nodes, nodeId, Date.now());
      for (let i = 0; i < open.length; i += 500) {
        const p = redis.pipeline();
        for (const conn of open.slice(i, i + 500)) conn.recordAgain(p);
        await p.exec();
      }
      log.info("connection state written again after a Redis reconnect", {
        connections: open.length,
      });
    } catch (err) {
      log.warn("Cannot write connection state after a Redis reconnect", { error: errorText(err) });
    }
  }

  const heartbeat = setInterval(function beat() {
    redis.hset(keys.nodes, nodeId, Date.now()).catch((err: unknown) => {
      log.warn("Cannot write heartbeat", { error: errorText(err) });
    });
  }, HEARTBEAT_MS);

  async function step(what: string, p: Promise<unknown>, ms = SHUTDOWN_STEP_MS): Promise<void> {
    try {
      await withTimeout(p, ms, what);
    } catch (err) {
      log.warn("Cannot shut down cleanly", { step: what, error: errorText(err) });
    }
  }

  async function shutdown(): Promise<void> {
    // New websockets get 503 (closing is set), new EVENT/REQ/COUNT an error: answer; EVENTs
    // already queued get their OK before the sockets close.
    draining = true;
    const open = [...connections.values()];
    const unanswered = open.reduce((n, c) => n + c.unanswered, 0);
    if (unanswered) log.info("draining: waiting for the OKs of queued EVENTs", { unanswered });
    await step("in-flight EVENTs answered", Promise.all(open.map((c) => c.drained())), DRAIN_MS);
    clearInterval(tick);
    clearInterval(heartbeat);
    for (const conn of open) conn.close(CLOSE.shutdown.code, CLOSE.shutdown.reason);
    // Deno's shutdown would replace our close reason on sockets still closing: let them finish
    // (a client that does not read never will, hence the bound).
    await step("websocket close handshakes", Promise.all(open.map((c) => c.socketClosed)));
    await step("http server shutdown", server.shutdown());
    await step("pending jobs", Promise.all(Object.values(jobs).map((b) => b.drain())));
    await step("node removal", redis.hdel(keys.nodes, nodeId));
    await step("queues", Promise.all(queues.map((q) => q.close())));
    await step("redis subscriber", subscriber.quit()).finally(() => subscriber.disconnect());
    await step("redis", redis.quit()).finally(() => redis.disconnect());
    if (sql) await step("postgres", sql.end({ timeout: 2 }));
    log.info("web process stopped");
  }

  return {
    port: server.addr.port,
    nodeId,
    close() {
      return closing ??= shutdown();
    },
  };
}

/** The id of the event of an Authorize job (its canonical JSON), or "" when unreadable. */
function eventIdOf(job: AuthorizeJob): string {
  try {
    return String(JSON.parse(job.event).id);
  } catch {
    return "";
  }
}
