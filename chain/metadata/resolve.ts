/**
 * tokenURI → metadata JSON: `data:` URIs decoded in place (base64 or percent-encoded), `ipfs://`
 * through the configured gateway, `http(s)://` through the SSRF-guarded fetcher.
 */
import { CID } from "multiformats/cid";
import { MetadataFetchError, type SafeFetchOptions, safeFetch } from "./fetch.js";

export type ResolveOptions = {
  ipfsGateway: string;
  timeoutMs: number;
  maxBytes: number;
  allowHosts?: string[];
  /** Waits for this request's turn towards its host (./pace.ts); data: URIs are never paced. */
  pace?: (url: string) => Promise<unknown>;
};

/** An `ipfs://` URI as its CID (normalised by multiformats) and path segments, `..` and `.` resolved. */
export function parseIpfsUri(uri: string): { cid: string; path: string[] } {
  const malformed = (why: string) => new MetadataFetchError("UNSUPPORTED_URI", `malformed ipfs:// URI: ${why}`);
  if (!uri.startsWith("ipfs://")) throw malformed("not an ipfs:// URI");
  const rest = uri.slice("ipfs://".length).replace(/^ipfs\//, "");
  // Backslashes become slashes in WHATWG URLs, and a gateway would see whatever a query or fragment carries.
  if (/[\\?#\s]/.test(rest)) throw malformed("no backslash, query, fragment or whitespace allowed");
  const [rawCid = "", ...rawSegments] = rest.split("/");
  let cid: string;
  try {
    cid = CID.parse(rawCid).toString();
  } catch {
    throw malformed(`"${rawCid.slice(0, 80)}" is not a CID`);
  }
  const path: string[] = [];
  for (const raw of rawSegments) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw malformed("bad percent-encoding");
    }
    // An encoded separator or control character would be read as a separator by some gateway.
    if (/[/\\\u0000-\u001f\u007f]/.test(segment)) throw malformed("encoded separator or control character in the path");
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (path.length === 0) throw malformed("the path leaves the CID");
      path.pop();
    } else path.push(segment);
  }
  return { cid, path };
}

/** An `ipfs://<cid>/<path>` (or `ipfs://ipfs/<cid>`) URI as a gateway URL (`<gateway><cid>/<path>`); other URIs unchanged. */
export function gatewayUrl(uri: string, gateway: string): string {
  if (!uri.startsWith("ipfs://")) return uri;
  const { cid, path } = parseIpfsUri(uri);
  return gateway + [cid, ...path.map(encodeURIComponent)].join("/");
}

/** Decodes a `data:` URI; returns its media type and bytes. */
export function decodeDataUri(uri: string, maxBytes: number): { contentType: string; body: Buffer } {
  const match = /^data:([^,]*?),(.*)$/s.exec(uri);
  if (!match) throw new MetadataFetchError("UNSUPPORTED_URI", "malformed data: URI");
  const params = match[1]!.split(";");
  const base64 = params.includes("base64");
  const contentType = (params[0] || "text/plain").toLowerCase();
  const payload = match[2]!;
  if ((base64 ? (payload.length * 3) / 4 : payload.length) > maxBytes) throw new MetadataFetchError("TOO_LARGE", `data: URI exceeds ${maxBytes} bytes`);
  let body: Buffer;
  try {
    body = base64 ? Buffer.from(payload, "base64") : Buffer.from(decodeURIComponent(payload), "utf8");
  } catch {
    throw new MetadataFetchError("UNSUPPORTED_URI", "malformed data: URI payload");
  }
  return { contentType, body };
}

const JSON_TYPES = new Set(["application/json", "text/json", "text/plain", "application/octet-stream", ""]);

/** Fetches any supported URI (data:, ipfs://, http(s)://) with the given content-type check. */
export async function fetchUri(
  uri: string,
  options: ResolveOptions,
  accept: SafeFetchOptions["accept"],
): Promise<{ contentType: string; body: Buffer; url: string }> {
  if (uri.length > 1_000_000) throw new MetadataFetchError("TOO_LARGE", "URI too long");
  if (uri.startsWith("data:")) {
    const decoded = decodeDataUri(uri, options.maxBytes);
    if (!accept(decoded.contentType)) throw new MetadataFetchError("BAD_CONTENT_TYPE", `unexpected content type "${decoded.contentType}"`);
    return { ...decoded, url: uri.slice(0, 64) };
  }
  const url = gatewayUrl(uri, options.ipfsGateway);
  if (!/^https?:\/\//i.test(url)) throw new MetadataFetchError("UNSUPPORTED_URI", `unsupported URI scheme in "${uri.slice(0, 40)}"`);
  await options.pace?.(url);
  return await safeFetch(url, { timeoutMs: options.timeoutMs, maxBytes: options.maxBytes, accept, allowHosts: options.allowHosts });
}

/** Resolves a tokenURI to its metadata JSON object. */
export async function resolveMetadata(uri: string, options: ResolveOptions): Promise<Record<string, unknown>> {
  const { body } = await fetchUri(uri, options, (ct) => ct.endsWith("+json") || JSON_TYPES.has(ct));
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new MetadataFetchError("INVALID_JSON", "metadata is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new MetadataFetchError("INVALID_JSON", "metadata is not a JSON object");
  return parsed as Record<string, unknown>;
}
