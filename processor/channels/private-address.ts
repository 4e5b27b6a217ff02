import { lookup } from "node:dns/promises";

/**
 * Literal-address SSRF guard for webhook URLs: the host as written (the
 * WHATWG URL parser has already normalised forms like `2130706433` or
 * `0x7f.1` to dotted quads). A name is judged by what it resolves to:
 * `inspectHost`.
 */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v4 = parseIpv4(host);
  if (v4) return isPrivateIpv4(v4);
  if (host.includes(":")) return isPrivateIpv6(host);
  return false;
}

function parseIpv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

function isPrivateIpv4([a = 0, b = 0]: number[]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata endpoints
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224 // multicast and reserved
  );
}

function isPrivateIpv6(host: string): boolean {
  if (host === "::" || host === "::1") return true;
  // IPv4-mapped (::ffff:a.b.c.d, which URL prints as ::ffff:7f00:1): judge the embedded IPv4.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const hi = parseInt(mapped[1] ?? "0", 16);
    const lo = parseInt(mapped[2] ?? "0", 16);
    return isPrivateIpv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (dotted) return isPrivateHost(dotted[1] ?? "");
  const first = parseInt(host.split(":")[0] || "0", 16);
  return (first & 0xfe00) === 0xfc00 /* unique local fc00::/7 */ || (first & 0xffc0) === 0xfe80 /* link-local fe80::/10 */;
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
  const bare = host.replace(/^\[|\]$/g, "");
  return parseIpv4(bare) !== null || bare.includes(":");
}

/**
 * Resolves `hostname` and judges every address. A name with one private
 * address among public ones counts as private: the connection could pick
 * any of them. An IP literal is judged as written.
 */
export async function inspectHost(hostname: string, resolve: Resolve = systemResolve): Promise<HostVerdict> {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (isIpLiteral(host)) return { privateAddress: isPrivateHost(hostname) ? host : null, addresses: [host] };
  const addresses = await resolve(host);
  const privateAddress = addresses.find((address) => isPrivateHost(address.includes(":") ? `[${address}]` : address)) ?? null;
  return { privateAddress, addresses };
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
 * on hosts without a local cache (42 µs here even from /etc/hosts). Failed
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
