import { describe, expect, test } from "bun:test";
import ipaddr from "ipaddr.js";
import { inspectHost, isPrivateHost } from "./private-address.ts";

/** An address as a webhook URL's hostname presents it: IPv6 bracketed and compressed, IPv4 as a dotted quad. */
function asHostname(address: string): string {
  return new URL(`http://${address.includes(":") ? `[${address}]` : address}/`).hostname;
}

function firstAndLast(cidr: string): string[] {
  const family = cidr.includes(":") ? ipaddr.IPv6 : ipaddr.IPv4;
  return [family.networkAddressFromCIDR(cidr), family.broadcastAddressFromCIDR(cidr)].map((a) => asHostname(a.toString()));
}

/** The IPv4 address as two IPv6 groups, bit-inverted for Teredo. */
function groups(v4: string, invert = false): string {
  const [a = 0, b = 0, c = 0, d = 0] = v4.split(".").map((o) => (invert ? Number(o) ^ 0xff : Number(o)));
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

// Every entry of the IANA IPv4 Special-Purpose Address Registry.
const IANA_IPV4: [string, string][] = [
  ["0.0.0.0/8", "this network"],
  ["0.0.0.0/32", "this host on this network"],
  ["10.0.0.0/8", "private-use"],
  ["100.64.0.0/10", "shared address space"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link local"],
  ["172.16.0.0/12", "private-use"],
  ["192.0.0.0/24", "IETF protocol assignments"],
  ["192.0.0.0/29", "IPv4 service continuity prefix"],
  ["192.0.0.8/32", "IPv4 dummy address"],
  ["192.0.0.9/32", "port control protocol anycast"],
  ["192.0.0.10/32", "traversal using relays around NAT anycast"],
  ["192.0.0.170/32", "NAT64/DNS64 discovery"],
  ["192.0.0.171/32", "NAT64/DNS64 discovery"],
  ["192.0.2.0/24", "documentation (TEST-NET-1)"],
  ["192.31.196.0/24", "AS112-v4"],
  ["192.52.193.0/24", "AMT"],
  ["192.88.99.0/24", "deprecated 6to4 relay anycast"],
  ["192.88.99.2/32", "6a44-relay anycast address"],
  ["192.168.0.0/16", "private-use"],
  ["192.175.48.0/24", "direct delegation AS112 service"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation (TEST-NET-2)"],
  ["203.0.113.0/24", "documentation (TEST-NET-3)"],
  ["240.0.0.0/4", "reserved"],
  ["255.255.255.255/32", "limited broadcast"],
];

// Every entry of the IANA IPv6 Special-Purpose Address Registry.
const IANA_IPV6: [string, string][] = [
  ["::1/128", "loopback"],
  ["::/128", "unspecified"],
  ["::ffff:0:0/96", "IPv4-mapped"],
  ["64:ff9b::/96", "IPv4-IPv6 translation"],
  ["64:ff9b:1::/48", "local-use IPv4/IPv6 translation"],
  ["100::/64", "discard-only"],
  ["100:0:0:1::/64", "dummy IPv6 prefix"],
  ["2001::/23", "IETF protocol assignments"],
  ["2001::/32", "Teredo"],
  ["2001:1::1/128", "port control protocol anycast"],
  ["2001:1::2/128", "traversal using relays around NAT anycast"],
  ["2001:1::3/128", "DNS-SD service registration protocol anycast"],
  ["2001:2::/48", "benchmarking"],
  ["2001:3::/32", "AMT"],
  ["2001:4:112::/48", "AS112-v6"],
  ["2001:10::/28", "deprecated ORCHID"],
  ["2001:20::/28", "ORCHIDv2"],
  ["2001:30::/28", "drone remote ID protocol entity tags"],
  ["2001:db8::/32", "documentation"],
  ["2002::/16", "6to4"],
  ["2620:4f:8000::/48", "direct delegation AS112 service"],
  ["3fff::/20", "documentation"],
  ["5f00::/16", "segment routing SIDs"],
  ["fc00::/7", "unique-local"],
  ["fe80::/10", "link-local unicast"],
];

const OUTSIDE_THE_REGISTRIES: [string, string][] = [
  ["224.0.0.0/4", "IPv4 multicast"],
  ["ff00::/8", "IPv6 multicast"],
  ["fec0::/10", "deprecated site-local"],
  ["::/96", "deprecated IPv4-compatible"],
  ["4000::/2", "unassigned, outside IPv6 global unicast"],
];

const PRIVATE_IPV4 = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "172.16.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.0"];

/** Each IPv6 transition form, wrapped around `v4`. */
const TRANSITION_FORMS: [string, (v4: string) => string][] = [
  ["IPv4-mapped", (v4) => `::ffff:${v4}`],
  ["IPv4-translated", (v4) => `::ffff:0:${v4}`],
  ["IPv4-compatible", (v4) => `::${v4}`],
  ["NAT64", (v4) => `64:ff9b::${v4}`],
  ["local-use NAT64", (v4) => `64:ff9b:1::${v4}`],
  ["6to4", (v4) => `2002:${groups(v4)}::1`],
  ["Teredo", (v4) => `2001:0:4136:e378:8000:63bf:${groups(v4, true)}`],
];

describe("isPrivateHost", () => {
  test.each(IANA_IPV4)("refuses the first and last address of %s (%s) from the IANA IPv4 special-purpose registry", (cidr) => {
    for (const host of firstAndLast(cidr)) expect([host, isPrivateHost(host)]).toEqual([host, true]);
  });

  test.each(IANA_IPV6)("refuses the first and last address of %s (%s) from the IANA IPv6 special-purpose registry", (cidr) => {
    for (const host of firstAndLast(cidr)) expect([host, isPrivateHost(host)]).toEqual([host, true]);
  });

  test.each(OUTSIDE_THE_REGISTRIES)("refuses the first and last address of %s (%s)", (cidr) => {
    for (const host of firstAndLast(cidr)) expect([host, isPrivateHost(host)]).toEqual([host, true]);
  });

  test("refuses the addresses an SSRF probe got through with", () => {
    const hosts = ["::7f00:1", "::ffff:0:7f00:1", "64:ff9b::a00:1", "64:ff9b::7f00:1", "2002:7f00:1::", "2002:a00:1::", "ff02::1", "fec0::1"].map(asHostname);
    for (const host of [...hosts, "198.18.0.1", "192.0.0.1"]) expect([host, isPrivateHost(host)]).toEqual([host, true]);
  });

  test.each(TRANSITION_FORMS)("refuses the %s form around a private IPv4", (_, wrap) => {
    for (const host of PRIVATE_IPV4.map((v4) => asHostname(wrap(v4)))) expect([host, isPrivateHost(host)]).toEqual([host, true]);
  });

  test.each(TRANSITION_FORMS)("allows the %s form around a public IPv4, which ends at that public host", (_, wrap) => {
    const host = asHostname(wrap("8.8.8.8"));
    expect([host, isPrivateHost(host)]).toEqual([host, false]);
  });

  test("allows public addresses and names", () => {
    const hosts = ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700:4700::1111", "2a00:1450:4001::200e"].map(asHostname);
    for (const host of [...hosts, "example.com"]) expect([host, isPrivateHost(host)]).toEqual([host, false]);
  });

  test("refuses localhost and its subdomains", () => {
    for (const host of ["localhost", "LOCALHOST.", "api.localhost"]) expect(isPrivateHost(host)).toBe(true);
  });
});

describe("inspectHost", () => {
  test("refuses a name that resolves to NAT64 around the cloud metadata address", async () => {
    const verdict = await inspectHost("sneaky.example", async () => ["8.8.8.8", "64:ff9b::a9fe:a9fe"]);
    expect(verdict.privateAddress).toBe("64:ff9b::a9fe:a9fe");
  });

  test("refuses a resolver answer that is not an IP address", async () => {
    expect((await inspectHost("odd.example", async () => ["not-an-address"])).privateAddress).toBe("not-an-address");
  });

  test("judges an IP literal as written, without resolving", async () => {
    const resolve = async (): Promise<string[]> => {
      throw new Error("resolved a literal");
    };
    expect(await inspectHost("[::ffff:0:7f00:1]", resolve)).toEqual({ privateAddress: "::ffff:0:7f00:1", addresses: ["::ffff:0:7f00:1"] });
    expect(await inspectHost("1.1.1.1", resolve)).toEqual({ privateAddress: null, addresses: ["1.1.1.1"] });
  });
});
