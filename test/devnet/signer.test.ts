/**
 * chain/signer.ts nonces and stuck transactions on a real anvil:
 * - viem's nonce manager remembers the last nonce it gave out; after `evm_revert` that memory is
 *   ahead of the chain and the next transaction would sit in anvil's pool forever (nonce gap). The
 *   signer takes the nonce from the chain whenever none of its sends is in flight.
 * - A transaction that cannot be mined fails fast with a typed error instead of a receipt timeout,
 *   and leaves nothing in the pool that could be mined later.
 */
import type { Hash } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { TransactionStuckError, createChainSigner } from "../../chain/signer.js";
import { startRpcProxy } from "../../devnet/rpcProxy.js";
import type { Devnet } from "../../devnet/start.js";
import { accounts, chainAt, collectionOn, deployer, startTestDevnet } from "../helpers/devnet.js";

let devnet: Devnet;
beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 1 });
});
afterAll(async () => {
  await devnet?.stop();
});

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

type Pool = { pending: Record<string, unknown>; queued: Record<string, unknown> };
const poolSize = (pool: Pool) => Object.keys(pool.pending).length + Object.keys(pool.queued).length;

describe("signer nonces and stuck transactions", () => {
  let serial = 1000n;
  const setup = () => {
    const chain = chainAt(devnet.deployments, 0);
    const cosmic = collectionOn(devnet.deployments, "cosmic", chain.chainId);
    // Short checks so a stuck transaction is reported in about a second; a short receipt timeout
    // so a regression fails the test instead of hanging it.
    const signer = createChainSigner({
      chainId: chain.chainId,
      rpcUrl: chain.rpcUrl,
      privateKey: deployer.privateKey,
      pollingInterval: 10,
      stuckCheckMs: 300,
      receiptTimeoutMs: 20_000,
    });
    const mint = () =>
      signer.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [accounts[1]!.address, tokenIdInRange(chain.eid, serial++)] });
    const txNonce = async (hash: Hash) => (await signer.publicClient.getTransaction({ hash })).nonce;
    const chainNonce = () => signer.publicClient.getTransactionCount({ address: signer.address, blockTag: "latest" });
    return { chain, signer, mint, txNonce, chainNonce };
  };

  it("a ready transaction an automining anvil left in its pool is mined within a check (foundry-rs/foundry#10122)", async () => {
    const { chain } = setup();
    // The state anvil's automine sometimes leaves behind (a ready transaction never mined): automine
    // off on the node, while the proxy in front of it says "anvil, automining" as the buggy node would.
    await rpc(chain.rpcUrl, "evm_setAutomine", [false]);
    const proxy = await startRpcProxy(chain.rpcUrl, { respond: (method) => (method === "anvil_getAutomine" ? true : undefined) });
    try {
      const signer = createChainSigner({
        chainId: chain.chainId,
        rpcUrl: proxy.url,
        privateKey: deployer.privateKey,
        pollingInterval: 10,
        stuckCheckMs: 300,
        receiptTimeoutMs: 20_000,
      });
      const started = Date.now();
      const receipt = await signer.write({
        address: collectionOn(devnet.deployments, "cosmic", chain.chainId).address,
        abi: CosmicONFT721Abi,
        functionName: "mint",
        args: [accounts[1]!.address, tokenIdInRange(chain.eid, serial++)],
      });
      expect(receipt.status).toBe("success");
      expect(Date.now() - started).toBeLessThan(5_000); // about one stuckCheckMs, not the receipt timeout
      expect(poolSize(await rpc<Pool>(chain.rpcUrl, "txpool_content"))).toBe(0);
    } finally {
      await rpc(chain.rpcUrl, "evm_setAutomine", [true]);
      await proxy.close();
    }
  });

  it("a transaction pending on a node that is not mining is left alone (no block is forced)", async () => {
    const { chain, signer } = setup();
    await rpc(chain.rpcUrl, "evm_setAutomine", [false]);
    try {
      const head = await signer.publicClient.getBlockNumber({ cacheTime: 0 });
      const sent = signer.write({
        address: collectionOn(devnet.deployments, "cosmic", chain.chainId).address,
        abi: CosmicONFT721Abi,
        functionName: "mint",
        args: [accounts[1]!.address, tokenIdInRange(chain.eid, serial++)],
      });
      sent.catch(() => {});
      await new Promise((r) => setTimeout(r, 1_000)); // three checks
      expect(await signer.publicClient.getBlockNumber({ cacheTime: 0 })).toBe(head);
      await rpc(chain.rpcUrl, "evm_mine");
      expect((await sent).status).toBe("success");
    } finally {
      await rpc(chain.rpcUrl, "evm_setAutomine", [true]);
    }
  });

  it("the same signer keeps sending after evm_revert: the nonce comes from the chain, not from memory", async () => {
    const { chain, mint, txNonce, chainNonce } = setup();
    await mint();
    for (let round = 0; round < 3; round++) {
      const snapshot = await rpc<string>(chain.rpcUrl, "evm_snapshot");
      for (let i = 0; i < 3; i++) await mint(); // a branch that is about to disappear
      expect(await rpc<boolean>(chain.rpcUrl, "evm_revert", [snapshot])).toBe(true);
      const before = await chainNonce();
      const receipt = await mint(); // viem's manager alone would use before + 3: never mined
      expect(await txNonce(receipt.transactionHash)).toBe(before);
      expect(await chainNonce()).toBe(before + 1);
    }
    expect(poolSize(await rpc<Pool>(chain.rpcUrl, "txpool_content"))).toBe(0);
  });

  it("concurrent sends of one signer still get distinct consecutive nonces", async () => {
    const { mint, txNonce, chainNonce } = setup();
    const before = await chainNonce();
    const receipts = await Promise.all(Array.from({ length: 6 }, () => mint()));
    const nonces = await Promise.all(receipts.map((r) => txNonce(r.transactionHash)));
    expect([...nonces].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5].map((i) => before + i));
  });

  it("sends straight through walletClient, concurrent with write(), are not given the same nonce", async () => {
    const { chain, signer, txNonce, chainNonce } = setup();
    const cosmic = collectionOn(devnet.deployments, "cosmic", chain.chainId);
    const before = await chainNonce();
    const hashes: Hash[] = [];
    for (let round = 0; round < 5; round++) {
      const direct = signer.walletClient.writeContract({
        account: signer.walletClient.account!,
        chain: signer.walletClient.chain,
        address: cosmic.address,
        abi: CosmicONFT721Abi,
        functionName: "mint",
        args: [accounts[3]!.address, tokenIdInRange(chain.eid, serial++)],
        // No gas given: viem estimates after taking the nonce, so that nonce stays unanswered for a
        // while, and write() (gas given: no estimation) takes its nonce in that window.
      });
      const written = signer.write({
        address: cosmic.address,
        abi: CosmicONFT721Abi,
        functionName: "mint",
        args: [accounts[1]!.address, tokenIdInRange(chain.eid, serial++)],
        gas: 300_000n,
      });
      const [hash, receipt] = await Promise.all([direct, written]);
      await signer.confirm(hash, "direct mint");
      hashes.push(hash, receipt.transactionHash);
    }
    const nonces = await Promise.all(hashes.map(txNonce));
    expect([...nonces].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => before + i));
  });

  it("a transaction behind a nonce gap fails fast with TransactionStuckError, is dropped from the pool, and is never mined later", async () => {
    const { chain, signer, mint, chainNonce } = setup();
    const gapped = await signer.walletClient.sendTransaction({
      account: signer.walletClient.account!,
      chain: signer.walletClient.chain,
      to: accounts[2]!.address,
      value: 1n,
      nonce: (await chainNonce()) + 2,
    });
    const error = await signer.confirm(gapped, "gapped transfer").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransactionStuckError);
    const stuck = error as TransactionStuckError;
    expect(stuck.reason).toBe("nonce-gap");
    expect(stuck.detail.droppedFromPool).toBe(true);
    expect(stuck.message).toContain("nonce-gap");
    expect(stuck.message).not.toContain(deployer.privateKey.slice(2, 12));
    expect(poolSize(await rpc<Pool>(chain.rpcUrl, "txpool_content"))).toBe(0);
    // Fill the gap: the dropped transaction must not come back.
    const start = await chainNonce();
    for (let i = 0; i < 3; i++) await mint();
    expect(await chainNonce()).toBe(start + 3);
    expect(await rpc<unknown>(chain.rpcUrl, "eth_getTransactionByHash", [gapped])).toBeNull();
  });

  it("a transaction that another one replaced on chain is reported dropped, not waited for", async () => {
    const { chain, signer, chainNonce } = setup();
    await rpc(chain.rpcUrl, "evm_setAutomine", [false]);
    try {
      const nonce = await chainNonce();
      const send = (value: bigint, gas?: bigint) =>
        signer.walletClient.sendTransaction({
          account: signer.walletClient.account!,
          chain: signer.walletClient.chain,
          to: accounts[2]!.address,
          value,
          nonce,
          ...(gas ? { maxPriorityFeePerGas: gas, maxFeePerGas: gas * 100n } : {}),
        });
      const first = await send(1n, 2_000_000_000n);
      const replacement = await send(2n, 4_000_000_000n); // same nonce, higher fee: replaces `first` in the pool
      await rpc(chain.rpcUrl, "evm_mine");
      const error = await signer.confirm(first, "replaced transfer").then(
        () => undefined,
        (e: unknown) => e,
      );
      // Not the replacement's receipt passed off as ours (viem's wait would resolve with it).
      expect(error).toBeInstanceOf(TransactionStuckError);
      expect((error as TransactionStuckError).reason).toBe("dropped");
      expect((await signer.publicClient.getTransactionReceipt({ hash: replacement })).status).toBe("success");
    } finally {
      await rpc(chain.rpcUrl, "evm_setAutomine", [true]);
    }
  });
});
