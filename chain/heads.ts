import { WebSocket } from "ws";
import { createReadClient } from "./readClient.js";

export type HeadWatcherOptions = {
  rpcUrl: string;
  wsUrl?: string;
  onHead(blockNumber: bigint): void;
  /** Poll interval while there is no live subscription, in ms. Default 1000. */
  pollMs?: number;
  /** A poll every this many ms even while subscribed (a safety net); 0 = none. Default 0. */
  livePollMs?: number;
  /** One line per state change (connected, dropped, polling). */
  log?(line: string): void;
};

export type HeadWatcher = {
  /** True while the WebSocket subscription is confirmed. */
  readonly live: boolean;
  close(): void;
};

const BACKOFF_START_MS = 250;
const BACKOFF_MAX_MS = 10_000;

export function watchHeads(options: HeadWatcherOptions): HeadWatcher {
  const pollMs = options.pollMs ?? 1_000;
  const livePollMs = options.livePollMs ?? 0;
  const log = options.log ?? (() => {});
  const client = createReadClient(options.rpcUrl, { retryCount: 0 });
  let closed = false;
  let live = false;
  let socket: WebSocket | undefined;
  let backoff = BACKOFF_START_MS;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let last: bigint | undefined;

  const emit = (n: bigint) => {
    if (n === last) return;
    last = n;
    options.onHead(n);
  };

  const schedulePoll = () => {
    clearTimeout(pollTimer);
    const every = live ? livePollMs : pollMs;
    if (closed || every <= 0) return;
    pollTimer = setTimeout(async () => {
      try {
        emit(await client.getBlockNumber({ cacheTime: 0 }));
      } catch {
        // The node is down too: the next poll (or the socket) tells.
      }
      schedulePoll();
    }, every);
    pollTimer.unref?.();
  };

  const connect = () => {
    if (closed || !options.wsUrl) return;
    const ws = new WebSocket(options.wsUrl);
    socket = ws;
    let subscription: string | undefined;
    ws.on("open", () => ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] })));
    ws.on("message", (data) => {
      let message: { id?: number; result?: unknown; error?: unknown; method?: string; params?: { subscription?: string; result?: { number?: string } } };
      try {
        message = JSON.parse(String(data));
      } catch {
        return;
      }
      if (message.id === 1 && typeof message.result === "string") {
        subscription = message.result;
        live = true;
        backoff = BACKOFF_START_MS;
        log(`heads: subscribed over ${options.wsUrl}`);
        schedulePoll();
      } else if (message.id === 1 && message.error) {
        ws.terminate();
      } else if (message.method === "eth_subscription" && message.params?.subscription === subscription) {
        const number = message.params?.result?.number;
        if (number) emit(BigInt(number));
      }
    });
    ws.on("error", () => ws.terminate());
    ws.on("close", () => {
      if (socket !== ws) return;
      socket = undefined;
      const wasLive = live;
      live = false;
      if (closed) return;
      if (wasLive) log(`heads: ${options.wsUrl} dropped; polling every ${pollMs} ms while reconnecting`);
      // Catch up at once (blocks may have come while the socket was dying), then poll until back.
      void client.getBlockNumber({ cacheTime: 0 }).then(emit, () => {});
      schedulePoll();
      reconnectTimer = setTimeout(connect, backoff);
      reconnectTimer.unref?.();
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    });
  };

  if (options.wsUrl) connect();
  schedulePoll();

  return {
    get live() {
      return live;
    },
    close() {
      closed = true;
      clearTimeout(reconnectTimer);
      clearTimeout(pollTimer);
      socket?.terminate();
      socket = undefined;
    },
  };
}
