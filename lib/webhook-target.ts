import ipaddr from "ipaddr.js";

// The pure half of the webhook SSRF rules, shared by the gateway (a URL checked
// when it is stored) and the processor (checked again, with DNS, at send time).

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
export function isRefusedAddress(address: string): boolean {
  return !ipaddr.isValid(address) || !isGlobalUnicast(ipaddr.parse(address));
}

export function unbracketed(host: string): string {
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

/** Whether `host` is an IP address as written (URL-normalised; IPv6 with or without brackets), not a name. */
export function isIpLiteral(host: string): boolean {
  return ipaddr.isValid(unbracketed(host));
}

/**
 * Why a webhook may not be sent to `url` as written, or null: https only and
 * no private or loopback host, unless private targets are allowed (dev and
 * tests, HERALD_WEBHOOK_ALLOW_PRIVATE). A name is judged again by what it
 * resolves to when it is called.
 */
export function refusedTarget(url: URL, allowPrivate: boolean): string | null {
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an http or https URL";
  if (allowPrivate) return null;
  if (url.protocol !== "https:") return "must be an https URL";
  if (isPrivateHost(url.hostname)) return `must not name a private, loopback or link-local address (${url.hostname})`;
  return null;
}
