/**
 * Subscription URLs are checked when they are registered (422 when refused) with the same rules as
 * every outbound fetch (chain/metadata/fetch.ts, addresses.ts): http(s) only, no credentials, and
 * every address the host resolves to globally reachable. Deliveries check again at connect time
 * (webhooks/send.ts), so a name re-pointed to a private address later is refused then too.
 */
import dns from "node:dns/promises";
import net from "node:net";
import { checkUrl, isPublicAddress, MetadataFetchError } from "../chain/metadata/fetch.js";

export type UrlVerdict = { ok: true; url: string } | { ok: false; code: string; message: string };

export async function checkWebhookUrl(raw: string, allowHosts: string[]): Promise<UrlVerdict> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, code: "INVALID_URL", message: "not a URL" };
  }
  try {
    const { exempt } = checkUrl(url, allowHosts);
    if (exempt) return { ok: true, url: url.toString() };
  } catch (error) {
    if (error instanceof MetadataFetchError) return { ok: false, code: error.code === "SSRF_BLOCKED" ? "SSRF_BLOCKED" : "INVALID_URL", message: error.message };
    throw error;
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (net.isIP(host)) return { ok: true, url: url.toString() };
  let addresses: { address: string }[];
  try {
    addresses = await dns.lookup(host, { all: true });
  } catch {
    return { ok: false, code: "UNRESOLVABLE_HOST", message: `${host} does not resolve` };
  }
  const bad = addresses.find((a) => !isPublicAddress(a.address));
  if (bad || !addresses.length)
    return { ok: false, code: "SSRF_BLOCKED", message: `refusing ${host}: it resolves to non-public address ${bad?.address ?? "(none)"}` };
  return { ok: true, url: url.toString() };
}
