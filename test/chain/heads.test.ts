/**
 * New heads pushed, not polled (chain/heads.ts, devnet/headRelay.ts), on a real anvil:
 * - a subscriber hears each block over the WebSocket, with polling far too slow to explain it;
 * - the devnet relay sends the current head on subscribe (blocks mined before the subscription
 *   are not left waiting for the next transaction);
 * - a socket killed mid-stream, with reconnects refused for a while: the watcher polls over HTTP
 *   meanwhile (every block mined during the outage is seen), then subscribes again (live).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnvilProcess, anvilRpc, freePort, startAnvil } from "../../devnet/anvil.js";
import { type HeadRelay, startHeadRelay } from "../../devnet/headRelay.js";
import { type RpcProxy, startRpcProxy } from "../../devnet/rpcProxy.js";
import { watchHeads } from "../../chain/heads.js";

let anvil: AnvilProcess;
let relay: HeadRelay;
let proxy: RpcProxy;
beforeAll(async () => {
  anvil = await startAnvil({ port: await freePort(), chainId: 31_999 });
  relay = await startHeadRelay({ rpcUrl: anvil.rpcUrl, nodeWsUrl: anvil.rpcUrl.replace(/^http/, "ws") });
  proxy = await startRpcProxy(anvil.rpcUrl, { wsTarget: relay.url });
});
afterAll(async () => {
  await proxy?.close();
  await relay?.close();
  await anvil?.stop();
});

const mine = () => anvilRpc(anvil.rpcUrl, "evm_mine");
const head = async () => BigInt((await anvilRpc(anvil.rpcUrl, "eth_blockNumber")) as string);

async function until(check: () => boolean, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("head subscriptions", () => {
  it("pushes each new block, and the current head on subscribe", async () => {
    for (let i = 0; i < 3; i++) await mine();
    const current = await head();
    const seen: bigint[] = [];
    // Polling every 60 s: anything heard within the test came over the socket.
    const watcher = watchHeads({ rpcUrl: anvil.rpcUrl, wsUrl: relay.url, pollMs: 60_000, onHead: (n) => seen.push(n) });
    try {
      await until(() => watcher.live, "the subscription");
      await until(() => seen.includes(current), "the current head on subscribe");
      for (let i = 0; i < 5; i++) {
        await mine();
        const n = await head();
        await until(() => seen.includes(n), `block ${n}`);
      }
      expect(seen).toEqual(Array.from({ length: 6 }, (_, i) => current + BigInt(i)));
    } finally {
      watcher.close();
    }
  });

  it("polls while the socket is down and reconnecting, then subscribes again", async () => {
    const seen: bigint[] = [];
    const lines: string[] = [];
    const watcher = watchHeads({ rpcUrl: anvil.rpcUrl, wsUrl: proxy.wsUrl, pollMs: 50, onHead: (n) => seen.push(n), log: (l) => lines.push(l) });
    try {
      await until(() => watcher.live && proxy.openSockets() === 1, "the subscription through the proxy");
      proxy.sockets("refuse");
      proxy.dropSockets();
      await until(() => !watcher.live, "the drop noticed");
      const during: bigint[] = [];
      for (let i = 0; i < 4; i++) {
        await mine();
        const n = await head();
        during.push(n);
        await until(() => seen.includes(n), `block ${n} while the socket is down`);
      }
      expect(watcher.live).toBe(false);
      proxy.sockets("accept");
      await until(() => watcher.live, "the reconnect", 20_000);
      await mine();
      const after = await head();
      await until(() => seen.includes(after), "a head after the reconnect");
      // Every block from the first mined during the outage to the last one was heard.
      for (let n = during[0]!; n <= after; n++) expect(seen).toContain(n);
      expect(lines.some((l) => l.includes("dropped"))).toBe(true);
    } finally {
      watcher.close();
    }
  });
});
