/**
 * One webhook POST under the SSRF guard of metadata fetches (chain/metadata/fetch.ts: scheme and
 * IP-literal checks, then the address check inside the socket's own DNS lookup, so the address
 * connected to is the one checked). Redirects are not followed (a 3xx is a failed attempt), the
 * response body is read up to 4 KiB (kept for the delivery log), one overall timeout.
 */
import http from "node:http";
import https from "node:https";
import { checkUrl, guardedLookup, MetadataFetchError } from "../chain/metadata/fetch.js";

export type SendResult = { ok: boolean; status: number | null; error: string | null; ms: number; body: string };

export async function postWebhook(
  raw: string,
  body: string,
  headers: Record<string, string>,
  options: { timeoutMs: number; allowHosts: string[] },
): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, "ms">): SendResult => ({ ...r, ms: Math.round(performance.now() - started) });
  let url: URL;
  let exempt: boolean;
  try {
    url = new URL(raw);
    ({ exempt } = checkUrl(url, options.allowHosts));
  } catch (error) {
    return done({ ok: false, status: null, error: error instanceof MetadataFetchError ? `${error.code}: ${error.message}` : "invalid URL", body: "" });
  }
  const signal = AbortSignal.timeout(options.timeoutMs);
  return await new Promise<SendResult>((resolve) => {
    const mod = url.protocol === "https:" ? https : http;
    const req = mod.request(
      url,
      {
        method: "POST",
        signal,
        headers: { "content-type": "application/json", "user-agent": "cosmic-loop-webhooks/1", "content-length": String(Buffer.byteLength(body)), ...headers },
        ...(exempt ? {} : { lookup: guardedLookup }),
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          if (size < 4096) chunks.push(chunk.subarray(0, 4096 - size));
          size += chunk.length;
        });
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const ok = status >= 200 && status < 300;
          resolve(done({ ok, status, error: ok ? null : `HTTP ${status}`, body: text }));
        });
        res.on("error", (error) => resolve(done({ ok: false, status, error: `NETWORK: ${error.message}`, body: "" })));
      },
    );
    req.on("error", (error) => {
      const cause = (error as { cause?: unknown }).cause ?? error;
      const message =
        cause instanceof MetadataFetchError
          ? `${cause.code}: ${cause.message}`
          : signal.aborted
            ? `TIMEOUT: no complete response within ${options.timeoutMs} ms`
            : `NETWORK: ${(error as Error).message}`;
      resolve(done({ ok: false, status: null, error: message.slice(0, 500), body: "" }));
    });
    req.end(body);
  });
}
