/**
 * Fetching untrusted URLs (tokenURIs, images) without SSRF: only http(s); every address the host
 * resolves to must be globally reachable unicast (./addresses.ts: the IANA special-purpose
 * registries, IPv4-mapped/compatible/translated forms included), checked inside the socket's own DNS lookup so the
 * address connected to is the address checked (no DNS rebinding window); redirects are followed by
 * hand and each hop is checked again. Size limits apply while streaming, with one overall timeout.
 */
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { isPublicAddress } from "./addresses.js";
import { CosmicError } from "../../infra/errors.js";

export { isPublicAddress };

export type FetchErrorCode =
  | "SSRF_BLOCKED"
  | "UNSUPPORTED_URI"
  | "TOO_LARGE"
  | "TIMEOUT"
  | "BAD_CONTENT_TYPE"
  | "HTTP_STATUS"
  | "TOO_MANY_REDIRECTS"
  | "NETWORK"
  | "INVALID_JSON";

export class MetadataFetchError extends CosmicError {
  override name = "MetadataFetchError";
  declare readonly code: FetchErrorCode;
  constructor(code: FetchErrorCode, message: string) {
    // A host that does not answer in time or at all is unavailable; anything else is what it served (or where it is).
    super(code === "TIMEOUT" || code === "NETWORK" ? "unavailable" : "unprocessable", code, message);
  }
}

export type SafeFetchOptions = {
  timeoutMs: number;
  maxBytes: number;
  /** Accepts the response's content type (lowercase, without parameters). */
  accept: (contentType: string) => boolean;
  /** `host:port` origins exempt from the address check (development fixtures only). */
  allowHosts?: string[];
  maxRedirects?: number;
};

function blocked(host: string, ip: string) {
  return new MetadataFetchError("SSRF_BLOCKED", `refusing to fetch from ${host}: it resolves to non-public address ${ip}`);
}

/** dns.lookup that fails for any non-public address; given to the socket so the checked address is the one used. */
export const guardedLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, "", 4);
    const list = addresses as dns.LookupAddress[];
    const bad = list.find((a) => !isPublicAddress(a.address));
    if (bad || list.length === 0) return callback(blocked(hostname, bad?.address ?? "(none)"), "", 4);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
};

/** Scheme, credentials and IP-literal checks of one hop (names are checked in the lookup hook). */
export function checkUrl(url: URL, allowHosts: string[]): { exempt: boolean } {
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new MetadataFetchError("UNSUPPORTED_URI", `unsupported URL scheme ${url.protocol}`);
  if (url.username || url.password) throw new MetadataFetchError("UNSUPPORTED_URI", "URLs with credentials are refused");
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (allowHosts.includes(`${host}:${port}`)) return { exempt: true };
  // IP literals never reach the lookup hook: check them here.
  if (net.isIP(host) && !isPublicAddress(host)) throw blocked(host, host);
  return { exempt: false };
}

export type FetchedBody = { url: string; contentType: string; body: Buffer };

function requestOnce(
  url: URL,
  exempt: boolean,
  options: SafeFetchOptions,
  signal: AbortSignal,
): Promise<{ status: number; location?: string; contentType: string; body?: Buffer }> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === "https:" ? https : http;
    const req = mod.request(
      url,
      {
        method: "GET",
        signal,
        headers: { accept: "application/json, image/*;q=0.9, */*;q=0.1", "user-agent": "cosmic-loop-metadata/1" },
        ...(exempt ? {} : { lookup: guardedLookup }),
        // No connection reuse: every request does its own guarded lookup.
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const contentType = String(res.headers["content-type"] ?? "")
          .split(";")[0]!
          .trim()
          .toLowerCase();
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          return resolve({ status, location: res.headers.location, contentType });
        }
        if (status < 200 || status >= 300) {
          res.resume();
          return resolve({ status, contentType });
        }
        if (!options.accept(contentType)) {
          res.destroy();
          return reject(new MetadataFetchError("BAD_CONTENT_TYPE", `unexpected content type "${contentType || "(none)"}"`));
        }
        const declared = Number(res.headers["content-length"] ?? 0);
        if (declared > options.maxBytes) {
          res.destroy();
          return reject(new MetadataFetchError("TOO_LARGE", `response of ${declared} bytes exceeds ${options.maxBytes}`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            res.destroy();
            reject(new MetadataFetchError("TOO_LARGE", `response exceeds ${options.maxBytes} bytes`));
          } else chunks.push(chunk);
        });
        res.on("end", () => resolve({ status, contentType, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** GET `raw` under the guard; follows up to `maxRedirects` redirects, each checked again. */
export async function safeFetch(raw: string, options: SafeFetchOptions): Promise<FetchedBody> {
  const allowHosts = options.allowHosts ?? [];
  const maxRedirects = options.maxRedirects ?? 3;
  const signal = AbortSignal.timeout(options.timeoutMs);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new MetadataFetchError("UNSUPPORTED_URI", "not a URL");
  }
  for (let hop = 0; ; hop++) {
    const { exempt } = checkUrl(url, allowHosts);
    let res;
    try {
      res = await requestOnce(url, exempt, options, signal);
    } catch (error) {
      if (error instanceof MetadataFetchError) throw error;
      if (signal.aborted) throw new MetadataFetchError("TIMEOUT", `no complete response within ${options.timeoutMs} ms`);
      const cause = (error as { cause?: unknown }).cause ?? error;
      if (cause instanceof MetadataFetchError) throw cause;
      throw new MetadataFetchError("NETWORK", `fetch failed: ${(error as Error).message}`.slice(0, 300));
    }
    if (res.location !== undefined) {
      if (hop >= maxRedirects) throw new MetadataFetchError("TOO_MANY_REDIRECTS", `more than ${maxRedirects} redirects`);
      try {
        url = new URL(res.location, url);
      } catch {
        throw new MetadataFetchError("UNSUPPORTED_URI", "redirect to an invalid URL");
      }
      continue;
    }
    if (!res.body) throw new MetadataFetchError("HTTP_STATUS", `HTTP ${res.status}`);
    return { url: url.toString(), contentType: res.contentType, body: res.body };
  }
}
