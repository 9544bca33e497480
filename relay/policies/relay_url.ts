/**
 * Comparing a kind-22242 event's `relay` tag with this relay's URL (NIP-42: "URL normalization
 * techniques can be applied"): the scheme is ignored (ws, wss, http, https all name the same
 * relay behind a TLS proxy), the host is compared case-insensitively with its port (default
 * ports omitted), and the path must be equal up to a trailing slash.
 *
 * @module
 */

/** `host[:port][/path]` of a relay URL, or undefined when it is not a URL. */
export function relayAddress(url: string): string | undefined {
  const text = url.trim();
  if (!text) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `wss://${text}`);
  } catch {
    return undefined;
  }
  if (!parsed.host) return undefined;
  return parsed.host.toLowerCase() + parsed.pathname.replace(/\/+$/, "");
}

/** True when the `relay` tag value names the relay at `relayUrl`. */
export function sameRelay(tag: string, relayUrl: string): boolean {
  const a = relayAddress(tag);
  return a !== undefined && a === relayAddress(relayUrl);
}
