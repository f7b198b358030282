/**
 * Reorgs under live indexing (anvil: evm_snapshot, activity, evm_revert, then a longer other
 * branch): depth 1, 3 (removing a bridge send) and 10. After each, the index must equal the new
 * canonical chain: reconcile clean, nothing of the dropped branch left; at the end, every live
 * index equals a fresh index of the final chains (no orphan rows), on PGlite and Postgres.
 */
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { sendToken, tokenIdInRange } from "../../chain/onft.js";
import { createChainSigner } from "../../chain/signer.js";
import type { Devnet } from "../../devnet/start.js";
import { reconcile } from "../../indexer/reconcile.js";
import { setupFromDeployments } from "../../indexer/setup.js";
import { accounts, deployer, startTestDevnet } from "../helpers/devnet.js";
import { type PonderInstance, TEST_DBS, cleanupPonder, dumpIndex, gql, startPonder, waitForHead } from "../helpers/ponder.js";

let devnet: Devnet;
const instances: PonderInstance[] = [];
const [alice, bob] = [accounts[1]!, accounts[2]!];

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 3, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
  instances.push(...(await Promise.all(TEST_DBS.map((db) => startPonder({ deployments: devnet.deployments, db })))));
  await synced();
});

afterAll(async () => {
  await Promise.all(instances.map((i) => cleanupPonder(i)));
  await devnet?.stop();
});

async function synced() {
  await Promise.all(instances.map((i) => waitForHead(i, devnet.deployments)));
}

const chainA = () => devnet.deployments.chains[0]!;
const chainB = () => devnet.deployments.chains[1]!;
const cosmicOn = (chainId: number) => devnet.deployments.collections.find((c) => c.slug === "cosmic")!.deployments.find((d) => d.chainId === chainId)!;
// Fresh signers per branch: a reverted chain forgets nonces a nonce manager remembers.
const freshSigner = (key: Hex) => createChainSigner({ chainId: chainA().chainId, rpcUrl: chainA().rpcUrl, privateKey: key, pollingInterval: 10 });

async function tokenRows(instance: PonderInstance, tokenId: bigint) {
  const data = await gql(
    instance,
    `query($id: BigInt!) { tokens(where: { collection: "cosmic", tokenId: $id }) { items { chainId owner state } }
      transfers(where: { collection: "cosmic", tokenId: $id }) { totalCount } bridgeSends(where: { collection: "cosmic", tokenId: $id }) { totalCount }
      activitys(where: { collection: "cosmic", tokenId: $id }) { totalCount } }`,
    { id: String(tokenId) },
  );
  return { tokens: data.tokens.items, transfers: data.transfers.totalCount, sends: data.bridgeSends.totalCount, activity: data.activitys.totalCount };
}

describe("reorgs under live indexing", () => {
  it.each([
    { depth: 1, bridge: false },
    { depth: 3, bridge: true },
    { depth: 10, bridge: false },
  ])("depth $depth (bridge send in the dropped branch: $bridge)", async ({ depth, bridge }) => {
    const a = chainA();
    const cosmic = cosmicOn(a.chainId);
    const dropped = Array.from({ length: depth }, (_, i) => tokenIdInRange(a.eid, BigInt(depth * 1000 + i + 1)));
    const kept = Array.from({ length: depth + 1 }, (_, i) => tokenIdInRange(a.eid, BigInt(depth * 1000 + 500 + i + 1)));
    const snapshot = await rpc<string>(a.rpcUrl, "evm_snapshot");
    const start = BigInt(await rpc<string>(a.rpcUrl, "eth_blockNumber"));

    // Branch 1: `depth` blocks (one transaction each); with `bridge`, block 2 sends block 1's token to B.
    const minter1 = freshSigner(deployer.privateKey);
    for (let i = 0; i < depth; i++) {
      if (bridge && i === 1) {
        await sendToken({ signer: freshSigner(alice.privateKey), deployment: cosmic, tokenId: dropped[0]!, dstEid: chainB().eid, to: bob.address });
      } else {
        await minter1.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [alice.address, dropped[i]!] });
      }
    }
    expect(BigInt(await rpc<string>(a.rpcUrl, "eth_blockNumber"))).toBe(start + BigInt(depth));
    await synced();
    for (const instance of instances) {
      const rows = await tokenRows(instance, dropped[0]!);
      expect(rows.tokens).toHaveLength(1);
      expect(rows.sends).toBe(bridge ? 1 : 0);
      if (bridge) expect(rows.tokens[0].state).toBe("bridged_out");
    }

    // Reorg: back to the snapshot, then a longer branch with other transactions.
    expect(await rpc<boolean>(a.rpcUrl, "evm_revert", [snapshot])).toBe(true);
    const minter2 = freshSigner(deployer.privateKey);
    for (const id of kept) await minter2.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [bob.address, id] });
    expect(BigInt(await rpc<string>(a.rpcUrl, "eth_blockNumber"))).toBe(start + BigInt(depth + 1));
    await synced();

    for (const instance of instances) {
      for (const id of dropped) expect(await tokenRows(instance, id)).toEqual({ tokens: [], transfers: 0, sends: 0, activity: 0 });
      for (const id of kept) {
        const rows = await tokenRows(instance, id);
        expect(rows.tokens).toEqual([{ chainId: a.chainId, owner: bob.address.toLowerCase(), state: "present" }]);
        expect(rows.transfers).toBe(1);
      }
      if (bridge) {
        const sends = await gql(instance, `{ bridgeSends { totalCount } }`);
        expect(sends).toEqual({ bridgeSends: { totalCount: 0 } });
      }
      expect((await reconcile(setupFromDeployments(devnet.deployments), instance.url)).mismatches).toEqual([]);
    }
  });

  it("after all reorgs, each live index equals a fresh index of the canonical chains", async () => {
    const fresh = await startPonder({ deployments: devnet.deployments, db: "pglite" });
    try {
      await waitForHead(fresh, devnet.deployments, 90_000);
      const expected = await dumpIndex(fresh);
      expect(expected.tokens!.length).toBe(2 + 4 + 11);
      for (const instance of instances) expect(await dumpIndex(instance)).toEqual(expected);
    } finally {
      await cleanupPonder(fresh);
    }
  });
});
