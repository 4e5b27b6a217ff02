import { lookup } from "node:dns/promises";
import { isIpLiteral, isPrivateHost, isRefusedAddress, unbracketed } from "../../lib/webhook-target.ts";

// The literal-address rules live in lib/ so the gateway checks a URL when it is stored.
export { isIpLiteral, isPrivateHost };

/** Every address a host name resolves to. */
export type Resolve = (hostname: string) => Promise<string[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address of every family. */
export const systemResolve: Resolve = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/** What a host name resolves to, judged. */
export interface HostVerdict {
  /** The first private or loopback address among them; null when all are public. */
  privateAddress: string | null;
  /** Every address, in the resolver's order. */
  addresses: string[];
}

/**
 * Resolves `hostname` and judges every address. A name with one private
 * address among public ones counts as private: the connection could pick
 * any of them. An IP literal is judged as written.
 */
export async function inspectHost(hostname: string, resolve: Resolve = systemResolve): Promise<HostVerdict> {
  const host = unbracketed(hostname);
  if (isIpLiteral(host)) return { privateAddress: isPrivateHost(host) ? host : null, addresses: [host] };
  const addresses = await resolve(host);
  return { privateAddress: addresses.find(isRefusedAddress) ?? null, addresses };
}

/**
 * The order to try a name's addresses in: IPv4 ones first (a server without
 * an IPv6 route fails fast on the others), each family in the resolver's order.
 */
export function connectOrder(addresses: readonly string[]): string[] {
  return [...addresses.filter((a) => !a.includes(":")), ...addresses.filter((a) => a.includes(":"))];
}

export interface AddressVerdicts {
  /** `inspectHost`, answered from memory for a host seen within the TTL. */
  check(hostname: string): Promise<HostVerdict>;
}

/**
 * Remembers each host's verdict for `ttlMs` (at most `max` hosts, oldest
 * dropped first): without it every webhook paid a lookup, a DNS round trip
 * on hosts without a local cache. Failed
 * lookups are not remembered. The webhook sender connects to a remembered
 * address itself, so within the TTL a changed DNS answer moves nothing.
 */
export function rememberVerdicts(resolve: Resolve = systemResolve, opts: { ttlMs?: number; max?: number; now?: () => number } = {}): AddressVerdicts {
  const ttlMs = opts.ttlMs ?? 30_000;
  const max = opts.max ?? 1024;
  const now = opts.now ?? Date.now;
  const seen = new Map<string, { verdict: HostVerdict; until: number }>();
  return {
    async check(hostname) {
      const hit = seen.get(hostname);
      if (hit !== undefined && hit.until > now()) return hit.verdict;
      const verdict = await inspectHost(hostname, resolve);
      seen.delete(hostname);
      seen.set(hostname, { verdict, until: now() + ttlMs });
      if (seen.size > max) seen.delete(seen.keys().next().value ?? hostname);
      return verdict;
    },
  };
}
