/**
 * The bridge tracker on the embedded off-chain store (PGlite, one connection, as under `npm run dev`):
 * a tick whose chain reads hang holds no transaction meanwhile, so bridge statuses (and every other
 * off-chain query) keep answering, and the tick's progress is stored once its reads return
 * (domain/bridge/tracker.ts). With a transaction held across the reads, the status read below waits
 * for the tracker's RPC and the test times out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { type RpcProxy, startRpcProxy } from "../../devnet/rpcProxy.js";
import { json } from "../api/helpers.js";
import { accounts, collectionOn, deployer, signerFor } from "../helpers/devnet.js";
import { waitUntil } from "../helpers/ponder.js";
import { type Stack, startStack } from "../nfts/stack.js";

let s: Stack;
const proxies: RpcProxy[] = [];
const [alice, bob] = [accounts[1]!, accounts[2]!];
/** While `gate` is set, the tracker's head reads wait for it (counted in `held`). */
const headReads: { gate?: Promise<void>; held: number } = { held: 0 };

beforeAll(async () => {
  s = await startStack({
    store: "pglite",
    layerZero: { confirmations: 2 },
    workers: { offline: { dvns: [0, 1], committer: true, executor: true } },
    realtime: { REALTIME_BRIDGE_TRACKER_POLL_MS: "100" },
    rpcFor: {
      tracker: async (url) => {
        const proxy = await startRpcProxy(url, {
          hold: (methods) => {
            if (!headReads.gate || !methods.includes("eth_getBlockByNumber")) return undefined;
            headReads.held++;
            return headReads.gate;
          },
        });
        proxies.push(proxy);
        return proxy.url;
      },
    },
  });
}, 240_000);

afterAll(async () => {
  await s?.stop();
  for (const p of proxies) await p.close();
});

const chain = (i: number) => s.deployments.chains[i]!;
const statusOf = async (id: string) => (await (await s.req(`/bridge/${id}`)).json()) as any;

describe("bridge tracker on PGlite", () => {
  it("statuses answer while a tick's chain reads hang; the tick's progress lands once they return", async () => {
    expect(s.deps.store.kind).toBe("pglite");
    const token = await s.login(alice.privateKey);
    const cosmic = collectionOn(s.deployments, "cosmic", chain(0).chainId);
    const id = tokenIdInRange(chain(0).eid, 900n);
    await signerFor(chain(0), deployer.privateKey).write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [alice.address, id] });
    const prep = await s.req(
      "/bridge",
      json(
        { collection: "cosmic", tokenId: id.toString(), srcChainId: chain(0).chainId, dstChainId: chain(1).chainId, recipient: bob.address },
        s.bearer(token),
      ),
    );
    const { operationId, transaction } = (await prep.json()) as {
      operationId: string;
      transaction: { to: string; data: string; value: string; chainId: number };
    };
    expect(prep.status).toBe(201);
    const sendTx = await s.signAndSend(alice.privateKey, transaction);
    await s.synced();
    await waitUntil(async () => ((await statusOf(operationId)).confirmations?.current === 1 ? true : undefined), "INFLIGHT 1/2", 30_000);

    // Hold the tracker's next head reads, then give it a reason to read (a new source block).
    let release!: () => void;
    headReads.gate = new Promise<void>((r) => (release = r));
    try {
      await signerFor(chain(0), deployer.privateKey).publicClient.request({ method: "evm_mine", params: [] } as never);
      await waitUntil(async () => (headReads.held > 0 ? true : undefined), "a tracker tick inside its head reads", 10_000);
      // The tick is now waiting on the chain: the store must still answer (long before the RPC
      // client's own timeout would end the wait: a read queued behind the tick fails here).
      let timer: NodeJS.Timeout | undefined;
      const during = await Promise.race([
        statusOf(operationId),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("GET /bridge/{id} waited for the tracker's chain reads")), 5_000);
        }),
      ]).finally(() => clearTimeout(timer));
      expect(during).toMatchObject({ status: "INFLIGHT", confirmations: { current: 1, required: 2 } });
    } finally {
      headReads.gate = undefined;
      release();
    }
    const after = await waitUntil(
      async () => {
        const b = await statusOf(operationId);
        return b.confirmations?.current === 2 ? b : undefined;
      },
      "2/2 stored by the released tick",
      10_000,
    );
    expect(after).toMatchObject({ status: "INFLIGHT", confirmations: { current: 2, required: 2 }, stale: false, steps: { sent: { txHash: sendTx } } });
  }, 120_000);
});
