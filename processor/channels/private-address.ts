import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";

// Blocks of the IANA IPv4 and IPv6 Special-Purpose Address Registries that ipaddr.js's range() has no name for.
const UNNAMED_SPECIAL_PURPOSE = { dummyIpv6Prefix: ipaddr.parseCIDR("100:0:0:1::/64") };
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR("::/96");
// IANA hands out IPv6 global unicast from 2000::/3 only; the rest of the space is unassigned.
const IPV6_GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR("2000::/3");

/** The IPv4 address an IPv6 transition form carries, or null when `address` is not one. */
function embeddedIpv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const bytes = address.toByteArray();
  if (address.match(IPV4_COMPATIBLE)) return new ipaddr.IPv4(bytes.slice(12));
  switch (address.range()) {
    case "ipv4Mapped":
    case "rfc6145": // IPv4-translated ::ffff:0:0:0/96
    case "rfc6052": // NAT64, 64:ff9b::/96 and the local-use 64:ff9b:1::/48
      return new ipaddr.IPv4(bytes.slice(12));
    case "6to4":
      return new ipaddr.IPv4(bytes.slice(2, 6));
    case "teredo": // the client's address, inverted bit by bit
      return new ipaddr.IPv4(bytes.slice(12).map((b) => b ^ 0xff));
    default:
      return null;
  }
}

/** Plain global unicast: no special-purpose block, no multicast, nothing reserved. */
function isGlobalUnicast(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (ipaddr.subnetMatch(address, UNNAMED_SPECIAL_PURPOSE, "unicast") !== "unicast") return false;
  if (address instanceof ipaddr.IPv4) return address.range() === "unicast";
  const v4 = embeddedIpv4(address);
  // A transition form ends at the IPv4 host it carries, so it is judged as that host: NAT64 is how IPv6-only networks reach IPv4 receivers.
  if (v4 !== null) return isGlobalUnicast(v4);
  return address.range() === "unicast" && address.match(IPV6_GLOBAL_UNICAST);
}

/** Whether a webhook must not go to `address`; text that is no IP address at all is refused too. */
function isRefusedAddress(address: string): boolean {
  return !ipaddr.isValid(address) || !isGlobalUnicast(ipaddr.parse(address));
}

function unbracketed(host: string): string {
  return host.replace(/^\[|\]$/g, "");
}

/**
 * Literal-address SSRF guard for webhook URLs: true for `localhost` names and
 * for any address that is not plain global unicast (the blocks of the IANA
 * special-purpose registries, multicast, reserved space, and IPv6 forms that
 * carry such an IPv4 address). The host is judged as written; the WHATWG URL
 * parser has already normalised forms like `2130706433` or `0x7f.1`. A name
 * is judged by what it resolves to: `inspectHost`.
 */
export function isPrivateHost(hostname: string): boolean {
  const host = unbracketed(hostname).toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  return ipaddr.isValid(host) && isRefusedAddress(host);
}

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

/** Whether `host` is an IP address as written (URL-normalised; IPv6 with or without brackets), not a name. */
export function isIpLiteral(host: string): boolean {
  return ipaddr.isValid(unbracketed(host));
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
