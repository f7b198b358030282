/**
 * The client IP behind reverse proxies, as Express and other proxy-aware servers compute it
 * (proxy-addr): the socket address and the X-Forwarded-For hops are walked **from the right**, and
 * the first address that is not a trusted proxy is the client. Everything left of it was written
 * by the client and is ignored, so rotating the header changes nothing.
 *
 * TRUST_PROXY (infra/config.ts): unset/0/false → the socket address; `N` → N proxies in front of
 * us (the socket peer and N-1 X-Forwarded-For entries are proxies: the client is the Nth entry from
 * the right); a comma-separated list of proxy IPs/CIDRs (or proxy-addr's names loopback,
 * linklocal, uniquelocal) → every hop in those ranges is a proxy.
 */
import proxyaddr from "proxy-addr";

export type TrustProxy = false | { hops: number } | { proxies: string[] };

type Trust = (addr: string, i: number) => boolean;
const compiled = new WeakMap<object, Trust>();

function trustOf(trust: Exclude<TrustProxy, false>): Trust {
  let fn = compiled.get(trust);
  if (!fn) {
    fn =
      "hops" in trust
        ? (
            (hops: number) => (_addr: string, i: number) =>
              i < hops
          )(trust.hops)
        : proxyaddr.compile(trust.proxies);
    compiled.set(trust, fn);
  }
  return fn;
}

/** Throws (TypeError) when `proxies` holds something that is not an IP or CIDR. */
export function validateProxies(proxies: string[]): void {
  proxyaddr.compile(proxies);
}

/** The client address of a connection from `remoteAddress` carrying `forwardedFor` (X-Forwarded-For). */
export function clientAddress(trust: TrustProxy, remoteAddress: string | undefined, forwardedFor: string | undefined): string {
  if (!trust || !forwardedFor) return remoteAddress ?? "unknown";
  const ip = proxyaddr({ socket: { remoteAddress }, headers: { "x-forwarded-for": forwardedFor } } as never, trustOf(trust));
  return (ip || remoteAddress || "unknown").slice(0, 64);
}
