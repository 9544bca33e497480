/**
 * The client IP a connection is known by (rate limits, `connections_ips`, `unlimited_ips`): the
 * socket address, or, only when a trusted reverse proxy is configured, the address it put in
 * its header.
 *
 * @module
 */

const IP_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;

/**
 * The IP of a client. With `trustProxyHeader` set (e.g. `x-forwarded-for`), the last entry of
 * that header is used: a proxy appends the address it saw, so earlier entries are whatever the
 * client claimed and must not be trusted. A missing or malformed value falls back to `remote`.
 */
export function clientIp(headers: Headers, remote: string, trustProxyHeader: string): string {
  if (!trustProxyHeader) return remote;
  const value = headers.get(trustProxyHeader);
  if (!value) return remote;
  const last = value.slice(value.lastIndexOf(",") + 1).trim();
  return IP_CHARS.test(last) ? last : remote;
}
