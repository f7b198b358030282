/**
 * Ponder on new-head subscriptions (the devnet's `wsUrl`, through a proxy that can cut it):
 * - with polling set to once a minute, a mint is indexed within seconds: the head came over the socket;
 * - the socket is killed mid-stream and its reconnect held while three mints are mined: once the
 *   socket is back, all three are indexed with no further block (the devnet relay sends the current
 *   head on subscribe; Ponder fetches the blocks it missed);
 * - the socket is killed and reconnects are refused: Ponder gives up on it after its retries and
 *   polls; the mints mined meanwhile are all indexed (a second instance, polling every 200 ms).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { type RpcProxy, startRpcProxy } from "../../devnet/rpcProxy.js";
import type { Devnet } from "../../devnet/start.js";
import { accounts, collectionOn, deployer, signerFor, startTestDevnet } from "../helpers/devnet.js";
import { type PonderInstance, TEST_DBS, cleanupPonder, gql, startPonder, waitForHead, waitUntil, withRpcUrls } from "../helpers/ponder.js";

let devnet: Devnet;
let proxy: RpcProxy;
let ponder: PonderInstance;

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 1, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
  const chain = devnet.deployments.chains[0]!;
  proxy = await startRpcProxy(chain.rpcUrl, { wsTarget: chain.wsUrl });
  // HTTP straight to the node; only the head subscription goes through the proxy.
  const deployments = withRpcUrls(devnet.deployments, new Map(), new Map([[chain.chainId, proxy.wsUrl]]));
  ponder = await startPonder({ deployments, db: TEST_DBS[0] ?? "pglite", env: { PONDER_POLLING_INTERVAL: "60000" } });
  await waitForHead(ponder, devnet.deployments);
});

afterAll(async () => {
  if (ponder) await cleanupPonder(ponder);
  await proxy?.close();
  await devnet?.stop();
});

const tokenIndexed = async (tokenId: bigint) => {
  const data = await gql<{ tokens: { items: unknown[] } }>(
    ponder,
    `query($id: BigInt!) { tokens(where: { collection: "cosmic", tokenId: $id }) { items { chainId } } }`,
    { id: tokenId.toString() },
  );
  return data.tokens.items.length > 0;
};

async function mint(serial: bigint): Promise<bigint> {
  const chain = devnet.deployments.chains[0]!;
  const tokenId = tokenIdInRange(chain.eid, serial);
  await signerFor(chain, deployer.privateKey).write({
    address: collectionOn(devnet.deployments, "cosmic", chain.chainId).address,
    abi: CosmicONFT721Abi,
    functionName: "mint",
    args: [accounts[5]!.address, tokenId],
  });
  return tokenId;
}

describe("Ponder on head subscriptions", () => {
  it("indexes a block as soon as its head is pushed (polling once a minute)", async () => {
    expect(proxy.openSockets()).toBe(1);
    const tokenId = await mint(7_000_001n);
    await waitUntil(() => tokenIndexed(tokenId), "the mint indexed", 15_000);
  });

  it("misses no block when the socket is killed mid-stream", async () => {
    expect(proxy.openSockets()).toBe(1);
    proxy.sockets("hold");
    proxy.dropSockets();
    const minted: bigint[] = [];
    for (let i = 0n; i < 3n; i++) minted.push(await mint(7_000_100n + i));
    await new Promise((r) => setTimeout(r, 1_000));
    // Nothing can have told Ponder about these blocks: its reconnect is held, polling once a minute.
    expect(proxy.openSockets()).toBe(0);
    for (const tokenId of minted) expect(await tokenIndexed(tokenId)).toBe(false);
    proxy.sockets("accept");
    await waitUntil(async () => proxy.openSockets() === 1, "Ponder reconnected", 30_000);
    for (const tokenId of minted) await waitUntil(() => tokenIndexed(tokenId), `mint ${tokenId} indexed after the reconnect`, 15_000);
  });

  it("falls back to polling when the socket cannot come back, missing no block", async () => {
    const chain = devnet.deployments.chains[0]!;
    const second = await startRpcProxy(chain.rpcUrl, { wsTarget: chain.wsUrl });
    const polling = await startPonder({
      deployments: withRpcUrls(devnet.deployments, new Map(), new Map([[chain.chainId, second.wsUrl]])),
      db: TEST_DBS[0] ?? "pglite",
      env: { PONDER_POLLING_INTERVAL: "200" },
    });
    try {
      await waitForHead(polling, devnet.deployments);
      expect(second.openSockets()).toBe(1);
      second.sockets("refuse");
      second.dropSockets();
      const minted: bigint[] = [];
      for (let i = 0n; i < 3n; i++) minted.push(await mint(7_000_200n + i));
      const indexedBy = async (instance: PonderInstance, tokenId: bigint) =>
        (
          await gql<{ tokens: { items: unknown[] } }>(
            instance,
            `query($id: BigInt!) { tokens(where: { collection: "cosmic", tokenId: $id }) { items { chainId } } }`,
            { id: tokenId.toString() },
          )
        ).tokens.items.length > 0;
      for (const tokenId of minted) await waitUntil(() => indexedBy(polling, tokenId), `mint ${tokenId} indexed by polling`, 30_000);
      expect(second.openSockets()).toBe(0);
      await waitForHead(polling, devnet.deployments);
    } finally {
      await cleanupPonder(polling);
      await second.close();
    }
  });
});
