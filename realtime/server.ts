/**
 * The WebSocket endpoint: its own HTTP server (Ponder does not expose its own, see docs/realtime.md),
 * JWT checked on the upgrade, rooms, heartbeats, and fan-out of the `realtime` pub/sub channel to
 * the sockets of this process. Each socket has a bounded send buffer: a client that does not read is
 * closed with 4008 instead of growing memory or delaying anyone else (sends never await a client).
 */
import { ServiceError } from "../infra/errors.js";
import { createServer, type IncomingMessage, type Server, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { decodeJwt } from "jose";
import { getAddress } from "viem";
import * as wsModule from "ws";
import { WebSocket, WebSocketServer } from "ws";
import type { Principal } from "../api/http/context.js";
import { parseRevocation, REVOCATION_CHANNEL, type Revocation } from "../domain/auth/revocation.js";
import { clientAddress, type TrustProxy } from "../infra/clientIp.js";
import { consumeRateLimit } from "../api/http/ratelimit.js";
import type { Logger } from "../infra/logger.js";
import { wsConnections, wsDropped, wsMessages } from "../infra/metrics.js";
import type { KeyValueStore, Unsubscribe } from "../infra/redis.js";
import { canonicalRoom, CLOSE, ClientMessage, type Envelope, parseEnvelope, REALTIME_CHANNEL } from "./protocol.js";
import { compareSeq, PushLog } from "./pushLog.js";

/** ws's frame encoder (exported at runtime, not in @types/ws). */
const Sender = (
  wsModule as unknown as {
    Sender: { frame(data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[] };
  }
).Sender;

export type RealtimeAuth = { authenticateBearer(jwt: string): Promise<Principal> };

export type RealtimeServerOptions = {
  kv: KeyValueStore;
  auth: RealtimeAuth;
  logger: Logger;
  port: number;
  host?: string;
  path?: string;
  /** Close a socket whose unsent data exceeds this (bytes). */
  maxBufferBytes?: number;
  heartbeatMs?: number;
  maxRoomsPerClient?: number;
  /** Sockets without a token may join public rooms (event, collection, bridge, nft). */
  allowAnonymous?: boolean;
  /** Handshakes per client IP per window (the REST per-IP budget, separate bucket). */
  handshakeLimit?: { points: number; windowSeconds: number; trustProxy: TrustProxy };
};

type Client = {
  ws: WebSocket;
  principal: Extract<Principal, { kind: "user" }> | undefined;
  /** Issue time of the access token (ms), compared with role changes. */
  tokenIatMs: number;
  rooms: Set<string>;
  alive: boolean;
  errors: number;
  expiryTimer?: NodeJS.Timeout;
  /** While a resume replays the log, live pushes for this socket wait here (sent after, deduplicated by seq). */
  replay?: { buffer: { seq?: string; text: string }[]; bytes: number };
  /** Ids of the last pushes sent live (a `resume` message sent later does not replay them again). */
  sentIds: Set<string>;
};

const SENT_IDS_KEPT = 1_000;
const REPLAY_BATCH = 500;

export type RealtimeServer = {
  port: number;
  url: string;
  server: Server;
  /** Delivers an envelope to this process's sockets (what the pub/sub handler calls). */
  deliver(envelope: Envelope): number;
  clientCount(): number;
  close(): Promise<void>;
};

function bearerFrom(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
  if (match) return match[1];
  const url = new URL(req.url ?? "/", "http://x");
  return url.searchParams.get("access_token") ?? undefined;
}

function reject(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}) {
  const body = JSON.stringify({ error: { code, message } });
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
  );
}

export async function startRealtimeServer(options: RealtimeServerOptions): Promise<RealtimeServer> {
  const log = options.logger.child({ component: "realtime" });
  const wsPath = options.path ?? "/ws";
  const maxBuffer = options.maxBufferBytes ?? 1024 * 1024;
  const maxRooms = options.maxRoomsPerClient ?? 100;
  const clients = new Set<Client>();
  const rooms = new Map<string, Set<Client>>();
  // Signed-in sockets by wallet, for revocations (domain/auth/revocation.ts).
  const byAddress = new Map<string, Set<Client>>();
  // Revocations of the last few seconds: a handshake authenticated just before one was recorded
  // registers its socket after the message went by, and is checked against these.
  let recent: { at: number; revocation: Revocation }[] = [];
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const pushLog = new PushLog(options.kv);

  const server = createServer((req, res) => {
    if (req.url === "/health") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "ok", connections: clients.size }));
      return;
    }
    res.writeHead(426, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "UPGRADE_REQUIRED", message: `connect a WebSocket to ${wsPath}` } }));
  });

  /** `text` as a string, or already UTF-8 encoded (a push shared by many sockets is encoded once). */
  const send = (client: Client, text: string | Buffer): boolean => {
    if (client.ws.readyState !== WebSocket.OPEN) return false;
    if (client.ws.bufferedAmount + text.length > maxBuffer) {
      drop(client, CLOSE.SLOW_CONSUMER, "slow consumer: send buffer full", "slow_consumer");
      return false;
    }
    if (typeof text === "string") client.ws.send(text);
    else sendShared(client.ws, text);
    return true;
  };
  /**
   * A push shared by many sockets: the whole text frame (header + payload) is built once per push,
   * and written as one buffer to each socket — what ws.send does per call (frame header, cork, two
   * writes) is the fan-out's per-socket cost. Direct only while ws's sender has nothing queued (it
   * queues only while compressing, which this server does not do); otherwise ws.send.
   */
  const sendShared = (ws: WebSocket, payload: Buffer) => {
    const internals = ws as unknown as { _socket?: { write(b: Buffer): boolean }; _sender?: { _state?: number; _queue?: unknown[] } };
    const sender = internals._sender;
    if (internals._socket && sender && sender._state === 0 && sender._queue?.length === 0) {
      let frame = wholeFrames.get(payload);
      if (!frame) {
        frame = Buffer.concat(Sender.frame(payload, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true }));
        wholeFrames.set(payload, frame);
      }
      internals._socket.write(frame);
    } else {
      ws.send(payload, { binary: false });
    }
  };
  const wholeFrames = new WeakMap<Buffer, Buffer>();

  const drop = (client: Client, code: number, reason: string, metric: string) => {
    if (client.ws.readyState === WebSocket.CLOSED) return;
    wsDropped.inc({ reason: metric });
    log.info({ code, reason, principal: client.principal?.address }, "closing socket");
    // Nothing more is queued after the close frame (memory stays bounded); a client that drains its
    // buffer reads the code, one that does not is cut off after the grace period.
    try {
      client.ws.close(code, reason);
    } catch {}
    setTimeout(() => client.ws.terminate(), 5_000).unref();
  };

  const join = (client: Client, room: string) => {
    client.rooms.add(room);
    let members = rooms.get(room);
    if (!members) rooms.set(room, (members = new Set()));
    members.add(client);
  };
  const leave = (client: Client, room: string) => {
    client.rooms.delete(room);
    const members = rooms.get(room);
    members?.delete(client);
    if (members?.size === 0) rooms.delete(room);
  };

  const reply = (client: Client, body: Record<string, unknown>) => send(client, JSON.stringify(body));
  const protocolError = (client: Client, code: string, message: string) => {
    reply(client, { type: "error", code, message });
    if (++client.errors > 20) drop(client, CLOSE.POLICY, "too many protocol errors", "policy");
  };

  const onMessage = (client: Client, raw: string) => {
    let parsed: ClientMessage;
    try {
      const result = ClientMessage.safeParse(JSON.parse(raw));
      if (!result.success)
        return protocolError(
          client,
          "BAD_MESSAGE",
          "expected {type: subscribe|unsubscribe, rooms: string[]}, {type: resume, after: <push id>, rooms?: string[]} or {type: ping}",
        );
      parsed = result.data;
    } catch {
      return protocolError(client, "MALFORMED_JSON", "messages are JSON");
    }
    if (parsed.type === "ping") return void reply(client, { type: "pong", at: Date.now() });
    if (parsed.type === "resume") return resume(client, parsed.after, parsed.rooms ?? []);
    if (parsed.type === "unsubscribe") {
      const valid = validRooms(client, parsed.rooms);
      if (!valid) return;
      for (const room of valid) leave(client, room);
      return void reply(client, { type: "unsubscribed", rooms: valid });
    }
    subscribe(client, parsed.rooms);
  };

  /** Canonical names, or undefined after a protocol error. */
  const validRooms = (client: Client, raw: string[]): string[] | undefined => {
    const names = raw.map((r) => ({ raw: r, room: canonicalRoom(r) }));
    const invalid = names.filter((n) => !n.room).map((n) => n.raw);
    if (invalid.length) return void protocolError(client, "INVALID_ROOM", `unknown room name(s): ${invalid.slice(0, 5).join(", ")}`);
    return names.map((n) => n.room!);
  };

  /** Joins rooms (false after a protocol error). */
  const subscribe = (client: Client, raw: string[]): boolean => {
    const valid = validRooms(client, raw);
    if (!valid) return false;
    // A user room is private to its wallet.
    const foreign = valid.filter((r) => r.startsWith("user:") && r !== `user:${client.principal?.address}`);
    if (foreign.length) return (protocolError(client, "FORBIDDEN_ROOM", "user rooms are only open to their own wallet (sign in)"), false);
    if (new Set([...client.rooms, ...valid]).size > maxRooms) return (protocolError(client, "TOO_MANY_ROOMS", `at most ${maxRooms} rooms per socket`), false);
    for (const room of valid) join(client, room);
    reply(client, { type: "subscribed", rooms: valid });
    return true;
  };

  /** One push as this socket receives it (its rooms only), or undefined when none match. */
  const pushText = (client: Client, envelope: Envelope): string | undefined => {
    const matched = envelope.rooms.filter((r) => client.rooms.has(r));
    if (!matched.length) return undefined;
    return `{"type":${JSON.stringify(envelope.type)},"id":${JSON.stringify(envelope.id ?? null)},"data":${JSON.stringify(envelope.data)},"rooms":${JSON.stringify(matched)}}`;
  };

  const remember = (client: Client, id: string | undefined) => {
    if (!id) return;
    client.sentIds.add(id);
    if (client.sentIds.size > SENT_IDS_KEPT) client.sentIds.delete(client.sentIds.values().next().value!);
  };

  /**
   * Resume after push `after`: live pushes for the socket are buffered from now, the log is read
   * from the entry after `after` (only the socket's rooms), then the buffer is flushed without the
   * entries already replayed (same seq). An id the log does not have (never seen, or older than the
   * retention) answers `resync`: the client re-reads state over REST/GraphQL.
   */
  const resume = (client: Client, after: string, raw: string[]) => {
    if (client.replay) return protocolError(client, "RESUME_IN_PROGRESS", "a resume is already replaying");
    if (raw.length && !subscribe(client, raw)) return;
    client.replay = { buffer: [], bytes: 0 };
    void (async () => {
      let replayed = 0;
      let last: string | undefined;
      try {
        const position = await pushLog.position(after);
        if (position.kind !== "found") {
          reply(client, {
            type: "resync",
            after,
            reason: position.kind === "trimmed" ? "EXPIRED" : "UNKNOWN_ID",
            message: "the push log no longer has this id: re-read the state, then follow live pushes",
          });
        } else {
          last = position.seq;
          for (;;) {
            const batch = await pushLog.after(last, REPLAY_BATCH);
            for (const entry of batch) {
              last = entry.seq;
              const envelope = { ...entry.envelope, rooms: (entry.envelope.rooms ?? []).map(canonicalRoom).filter((r): r is string => !!r) };
              if (envelope.id && client.sentIds.has(envelope.id)) continue;
              const text = pushText(client, envelope);
              if (text && send(client, text)) replayed++;
            }
            if (batch.length < REPLAY_BATCH || client.ws.readyState !== WebSocket.OPEN) break;
          }
          reply(client, { type: "resumed", after, replayed });
        }
      } catch (error) {
        // Redis unreachable: say so instead of leaving a silent gap.
        log.warn({ err: error }, "realtime resume: log unavailable");
        last = undefined;
        reply(client, { type: "resync", after, reason: "UNAVAILABLE", message: "the push log is unavailable: re-read the state, then follow live pushes" });
      }
      const buffered = client.replay?.buffer ?? [];
      client.replay = undefined;
      for (const item of buffered) if (!last || !item.seq || compareSeq(item.seq, last) > 0) send(client, item.text);
    })();
  };

  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => {});
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== wsPath) return reject(socket, 404, "ROUTE_NOT_FOUND", `WebSocket endpoint is ${wsPath}`);
    const token = bearerFrom(req);
    void (async () => {
      if (options.handshakeLimit) {
        const { points, windowSeconds, trustProxy } = options.handshakeLimit;
        const forwarded = req.headers["x-forwarded-for"];
        try {
          await consumeRateLimit(
            options.kv,
            { name: "ws", points, windowSeconds, failOpen: true },
            clientAddress(trustProxy, req.socket.remoteAddress, Array.isArray(forwarded) ? forwarded.join(",") : forwarded),
          );
        } catch (error) {
          return reject(socket, 429, "RATE_LIMITED", "too many connections, retry later", (error as { headers?: Record<string, string> }).headers);
        }
      }
      let principal: Client["principal"];
      if (token) {
        try {
          const p = await options.auth.authenticateBearer(token);
          if (p.kind !== "user") return reject(socket, 401, "TOKEN_INVALID", "a wallet access token is required");
          principal = p;
        } catch (error) {
          if (error instanceof ServiceError && error.kind === "unauthenticated") return reject(socket, 401, error.code, error.message);
          // Revocation list unreachable (Redis down): fail closed.
          log.warn({ err: error }, "realtime handshake: authentication unavailable");
          return reject(socket, 503, "DEPENDENCY_UNAVAILABLE", "authentication is unavailable, retry later");
        }
      } else if (options.allowAnonymous === false) {
        return reject(socket, 401, "UNAUTHENTICATED", "send Authorization: Bearer <access token> or ?access_token=");
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        // Verified above, so its claims can be read without re-verifying.
        const claims = token ? decodeJwt(token) : undefined;
        const tokenIatMs = typeof claims?.iat_ms === "number" ? claims.iat_ms : (claims?.iat ?? 0) * 1000;
        const client: Client = { ws, principal, tokenIatMs, rooms: new Set(), alive: true, errors: 0, sentIds: new Set() };
        clients.add(client);
        wsConnections.inc();
        if (principal) {
          join(client, `user:${principal.address}`);
          let mine = byAddress.get(principal.address);
          if (!mine) byAddress.set(principal.address, (mine = new Set()));
          mine.add(client);
        }
        const exp = claims?.exp;
        if (exp)
          client.expiryTimer = setTimeout(
            () => drop(client, CLOSE.TOKEN_EXPIRED, "access token expired", "token_expired"),
            Math.max(0, exp * 1000 - Date.now()),
          );
        ws.on("pong", () => (client.alive = true));
        ws.on("message", (data, isBinary) => (isBinary ? protocolError(client, "BAD_MESSAGE", "text frames only") : onMessage(client, data.toString())));
        ws.on("error", () => {});
        ws.on("close", () => {
          clearTimeout(client.expiryTimer);
          for (const room of [...client.rooms]) leave(client, room);
          if (principal) {
            const mine = byAddress.get(principal.address);
            mine?.delete(client);
            if (mine?.size === 0) byAddress.delete(principal.address);
          }
          if (clients.delete(client)) wsConnections.dec();
        });
        reply(client, { type: "welcome", address: principal?.address ?? null, rooms: [...client.rooms] });
        for (const r of recent) closeRevoked(r.revocation, client);
        // ?resume=<last push id>[&rooms=a,b]: the same as a first `resume` message (no push can be
        // delivered to the socket between its registration and this line).
        const resumeAfter = url.searchParams.get("resume");
        if (resumeAfter) {
          const roomList = (url.searchParams.get("rooms") ?? "").split(",").filter(Boolean);
          if (resumeAfter.length > 300 || roomList.length > 100) protocolError(client, "BAD_MESSAGE", "resume is a push id, rooms at most 100");
          else resume(client, resumeAfter, roomList);
        }
      });
    })();
  });

  const revokes = (revocation: Revocation, client: Client) =>
    !!client.principal &&
    ("sid" in revocation
      ? client.principal.sessionId === revocation.sid
      : client.principal.address === revocation.address && client.tokenIatMs < revocation.before);
  const closeRevoked = (revocation: Revocation, client: Client) => {
    if (!revokes(revocation, client)) return;
    drop(client, CLOSE.TOKEN_REVOKED, "sid" in revocation ? "session revoked" : "roles changed: refresh the access token", `revoked_${revocation.reason}`);
  };
  const onRevocation = (message: Revocation) => {
    const revocation = "sid" in message ? message : { ...message, address: getAddress(message.address) };
    const now = Date.now();
    recent = recent.filter((r) => now - r.at < 10_000);
    recent.push({ at: now, revocation });
    const candidates = "sid" in revocation ? [...byAddress.values()].flatMap((set) => [...set]) : [...(byAddress.get(revocation.address) ?? [])];
    for (const client of candidates) closeRevoked(revocation, client);
  };

  const heartbeat = setInterval(() => {
    for (const client of clients) {
      if (!client.alive) {
        drop(client, CLOSE.HEARTBEAT_TIMEOUT, "heartbeat timeout", "heartbeat");
        continue;
      }
      client.alive = false;
      try {
        client.ws.ping();
      } catch {}
    }
  }, options.heartbeatMs ?? 30_000);
  heartbeat.unref();

  const deliver = (envelope: Envelope): number => {
    // The payload is serialised and UTF-8 encoded once per distinct list of matched rooms (usually
    // one list for everyone: a push to one room), not once per socket: 10,000 sockets in a room cost
    // one JSON.stringify and one Buffer, then a frame write each.
    const head = `{"type":${JSON.stringify(envelope.type)},"id":${JSON.stringify(envelope.id ?? null)},"data":${JSON.stringify(envelope.data)},"rooms":`;
    const frames = new Map<string, Buffer>();
    const frameFor = (matched: string[]) => {
      const key = matched.join("\n");
      let frame = frames.get(key);
      if (!frame) frames.set(key, (frame = Buffer.from(`${head}${JSON.stringify(matched)}}`)));
      return frame;
    };
    let sent = 0;
    // A socket resuming buffers its live pushes (sent after the replay, deduplicated by seq).
    const deliverTo = (client: Client, matched: string[]) => {
      if (client.replay) {
        const text = `${head}${JSON.stringify(matched)}}`;
        client.replay.buffer.push({ seq: envelope.seq, text });
        client.replay.bytes += text.length;
        if (client.replay.bytes > maxBuffer) drop(client, CLOSE.SLOW_CONSUMER, "slow consumer: resume buffer full", "slow_consumer");
        return;
      }
      if (send(client, frameFor(matched))) {
        sent++;
        remember(client, envelope.id);
      }
    };
    if (envelope.rooms.length === 1) {
      const members = rooms.get(envelope.rooms[0]!);
      if (!members?.size) return 0;
      for (const client of members) deliverTo(client, envelope.rooms);
    } else {
      const targets = new Map<Client, string[]>();
      for (const room of envelope.rooms) for (const client of rooms.get(room) ?? []) targets.set(client, [...(targets.get(client) ?? []), room]);
      for (const [client, matched] of targets) deliverTo(client, matched);
    }
    if (sent) wsMessages.inc({ type: envelope.type }, sent);
    return sent;
  };

  let unsubscribe: Unsubscribe | undefined;
  unsubscribe = await options.kv.subscribe(REALTIME_CHANNEL, (message) => {
    const envelope = parseEnvelope(message);
    if (!envelope) return void log.warn("realtime: malformed envelope on the channel");
    deliver(envelope);
  });

  const unsubscribeRevocations = await options.kv.subscribe(REVOCATION_CHANNEL, (message) => {
    const revocation = parseRevocation(message);
    if (!revocation) return void log.warn("realtime: malformed revocation on the channel");
    onRevocation(revocation);
  });

  await new Promise<void>((resolve, rejectListen) => {
    server.once("error", rejectListen);
    server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  log.info({ port, path: wsPath }, "realtime WebSocket server listening");

  return {
    port,
    url: `ws://127.0.0.1:${port}${wsPath}`,
    server,
    deliver,
    clientCount: () => clients.size,
    async close() {
      clearInterval(heartbeat);
      await unsubscribe?.().catch(() => {});
      await unsubscribeRevocations().catch(() => {});
      for (const client of clients) {
        try {
          client.ws.close(CLOSE.GOING_AWAY, "server shutting down");
        } catch {}
        client.ws.terminate();
      }
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
