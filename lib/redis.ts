/**
 * Redis connections. BullMQ needs `maxRetriesPerRequest: null` on the connections it uses.
 *
 * @module
 */
import { Redis } from "ioredis";
export { Redis };

/** Opens an ioredis connection; `lazy` ones connect on first command. */
export function connectRedis(
  url: string,
  options: { name?: string; forBullmq?: boolean } = {},
): Redis {
  return new Redis(url, {
    connectionName: options.name,
    maxRetriesPerRequest: options.forBullmq ? null : 20,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}
