/**
 * Request body limit that keeps the client's keep-alive connection usable.
 *
 * hono's `bodyLimit` answers 413 without reading the rest of the body, and @hono/node-server then
 * destroys the unread request stream (its autoCleanupIncoming) — the socket goes with it, so the
 * client's next request on that connection fails with ECONNRESET, and a client still sending may
 * not even read its 413. No maintained middleware drains the excess, so it is hand-written here:
 *   - a declared Content-Length over the limit, up to `drainBytes`: the body is read and discarded,
 *     then 413 on a connection that stays open;
 *   - a streamed (chunked) body: counted as it arrives; past the limit the rest is drained the same
 *     way (within `drainBytes` in all);
 *   - more than `drainBytes`, or not received within `drainMs`: 413 with `Connection: close`, so
 *     the client sees the answer and opens a new connection for its next request.
 * Bodies within the limit pass untouched (declared) or re-assembled (streamed), as hono's does.
 */
import type { Context, MiddlewareHandler } from "hono";
import { requestHeader } from "./headers.js";

export type BodyLimitOptions = { maxBytes: number; message: string; drainBytes?: number; drainMs?: number };

const tooLarge = (c: Context, message: string, close: boolean) =>
  c.json({ error: { code: "PAYLOAD_TOO_LARGE", message } }, 413, close ? { connection: "close" } : {});

/** Reads and discards until the end, `budget` bytes or `deadline`; true when the body ended. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, budget: number, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()))));
  try {
    for (let left = budget; ; ) {
      const chunk = await Promise.race([reader.read(), timeout]);
      if (chunk === "timeout") return false;
      if (chunk.done) return true;
      left -= chunk.value.byteLength;
      if (left < 0) return false;
    }
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

export function limitBody(options: BodyLimitOptions): MiddlewareHandler {
  const { maxBytes, message } = options;
  const drainBytes = options.drainBytes ?? 16 * 1024 * 1024;
  const drainMs = options.drainMs ?? 10_000;
  return async (c, next) => {
    // GET/HEAD carry no body (@hono/node-server gives them none); asking for c.req.raw.body would
    // build a full undici Request for every read just to find that out.
    if (c.req.method === "GET" || c.req.method === "HEAD") return await next();
    const body = c.req.raw.body;
    if (!body) return await next();
    const deadline = Date.now() + drainMs;
    const length = requestHeader(c, "content-length");
    if (length !== undefined && requestHeader(c, "transfer-encoding") === undefined) {
      const declared = Number(length);
      if (!(declared > maxBytes)) return await next();
      if (declared > drainBytes) return tooLarge(c, message, true);
      return tooLarge(c, message, !(await drain(body.getReader(), declared, deadline)));
    }
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) return tooLarge(c, message, !(await drain(reader, drainBytes - size, deadline)));
      chunks.push(value);
    }
    c.req.raw = new Request(c.req.raw, { body: Buffer.concat(chunks) });
    return await next();
  };
}
