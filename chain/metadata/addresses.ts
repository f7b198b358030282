/**
 * Which IP addresses an outbound fetch of untrusted URLs may connect to: only globally reachable
 * unicast, judged against the IANA special-purpose address registries
 * (https://www.iana.org/assignments/iana-ipv4-special-registry and iana-ipv6-special-registry,
 * as of 2025) plus the multicast and deprecated blocks.
 *
 * Hand-written on top of ipaddr.js (parsing, CIDR matching): the SSRF-filtering packages on npm
 * (request-filtering-agent, private-ip, @atproto-labs/fetch-node, all checked) classify by
 * ipaddr.js's `range() === "unicast"` or by string patterns, and so pass `::7f00:1`
 * (IPv4-compatible loopback), `fec0::/10` (site-local), `64:ff9b:1::/48` (local-use NAT64) and
 * `3fff::/20` (documentation) as public. Here IPv6 is allow-listed instead: only the global unicast
 * block 2000::/3 minus its special-purpose entries, so an unassigned or newly reserved range is
 * refused until someone decides otherwise. Addresses that embed an IPv4 address are judged by the
 * embedded address where the embedding is a well-known translation (IPv4-mapped `::ffff:a.b.c.d`,
 * SIIT `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`), and refused outright where the embedding is
 * deprecated or network-specific (IPv4-compatible `::a.b.c.d`, local-use NAT64, 6to4, Teredo).
 */
import ipaddr from "ipaddr.js";

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];
const cidrs = (list: string[]): Cidr[] => list.map((c) => ipaddr.parseCIDR(c));

/** IPv4 blocks that are not globally reachable (IANA IPv4 special-purpose registry "Globally Reachable: False", multicast, reserved). */
const IPV4_BLOCKED = cidrs([
  "0.0.0.0/8", // "this network"
  "10.0.0.0/8", // private
  "100.64.0.0/10", // shared address space (CGNAT)
  "127.0.0.0/8", // loopback
  "169.254.0.0/16", // link-local (cloud metadata services)
  "172.16.0.0/12", // private
  "192.0.0.0/24", // IETF protocol assignments (its few global anycast entries are not metadata hosts)
  "192.0.2.0/24", // TEST-NET-1
  "192.31.196.0/24", // AS112-v4
  "192.52.193.0/24", // AMT
  "192.88.99.0/24", // deprecated 6to4 relay anycast
  "192.168.0.0/16", // private
  "192.175.48.0/24", // direct delegation AS112
  "198.18.0.0/15", // benchmarking
  "198.51.100.0/24", // TEST-NET-2
  "203.0.113.0/24", // TEST-NET-3
  "224.0.0.0/4", // multicast
  "240.0.0.0/4", // reserved (incl. 255.255.255.255 limited broadcast)
]);

/** Global unicast: the only IPv6 block IANA allocates for public addresses. */
const IPV6_GLOBAL = ipaddr.parseCIDR("2000::/3");

/** Special-purpose entries inside 2000::/3 (IANA IPv6 special-purpose registry). */
const IPV6_BLOCKED = cidrs([
  "2001::/23", // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID, AMT, AS112, ...
  "2001:db8::/32", // documentation
  "2002::/16", // 6to4 (embeds an IPv4 address: refused rather than unwrapped)
  "2620:4f:8000::/48", // direct delegation AS112
  "3fff::/20", // documentation (RFC 9637)
]);

const NAT64_WELL_KNOWN = ipaddr.parseCIDR("64:ff9b::/96");
const SIIT = ipaddr.parseCIDR("::ffff:0:0:0/96");

const inAny = (addr: ipaddr.IPv4 | ipaddr.IPv6, list: Cidr[]) => list.some((c) => addr.kind() === c[0].kind() && addr.match(c));

function isPublicIPv4(addr: ipaddr.IPv4): boolean {
  return !inAny(addr, IPV4_BLOCKED);
}

/** The IPv4 address in the last 32 bits of `addr`. */
const lastIPv4 = (addr: ipaddr.IPv6) => ipaddr.IPv4.parse(addr.toByteArray().slice(12).join("."));

function isPublicIPv6(addr: ipaddr.IPv6): boolean {
  // Translations of IPv4 addresses: judged by the IPv4 address they reach.
  if (addr.isIPv4MappedAddress()) return isPublicIPv4(addr.toIPv4Address());
  if (addr.match(SIIT) || addr.match(NAT64_WELL_KNOWN)) return isPublicIPv4(lastIPv4(addr));
  // Everything outside 2000::/3 — ::, ::1, IPv4-compatible ::/96, 64:ff9b:1::/48, 100::/64,
  // fc00::/7, fe80::/10, fec0::/10, ff00::/8, 5f00::/16 and the unassigned space — is refused.
  if (!addr.match(IPV6_GLOBAL)) return false;
  return !inAny(addr, IPV6_BLOCKED);
}

/** True when `ip` is a globally reachable unicast address (the only kind an untrusted URL may reach). */
export function isPublicAddress(ip: string): boolean {
  // Zone ids (fe80::1%eth0) are link-scoped by definition.
  if (ip.includes("%") || !ipaddr.isValid(ip)) return false;
  const addr = ipaddr.parse(ip);
  return addr.kind() === "ipv4" ? isPublicIPv4(addr as ipaddr.IPv4) : isPublicIPv6(addr as ipaddr.IPv6);
}
