/**
 * POST /nfts when the outcome of the mint transaction is unknown (domain/nfts/mint.ts): the signer's
 * RPC goes through a proxy that loses answers. Whatever is lost — the receipt, the answer to
 * eth_sendRawTransaction, or the send itself — the request answers 503 and a retry with the same
 * Idempotency-Key settles it from the chain: each recipient ends up with exactly one new token.
 * No Ponder here: minting does not need the index.
 */
import type { Address, Hex } from "viem";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { buildApp } from "../../api/app.js";
import { createServerSigners } from "../../chain/serverSigners.js";
import { startRpcProxy } from "../../devnet/rpcProxy.js";
import type { Devnet } from "../../devnet/start.js";
import { setupFromDeployments } from "../../indexer/setup.js";
import { createTestApp, json, siweMessage, type TestApp } from "../api/helpers.js";
import { accounts, collectionOn, deployer, signerFor, startTestDevnet } from "../helpers/devnet.js";

type Fault = "none" | "lose-receipts" | "lose-send-answer" | "refuse-send";

/** devnet/rpcProxy.ts with one kind of fault at a time: the request is forwarded or not, its answer lost or not. */
async function faultyRpc(target: string) {
  const state = { fault: "none" as Fault };
  const proxy = await startRpcProxy(target, {
    beforeForward: (methods) =>
      (state.fault === "refuse-send" && methods.includes("eth_sendRawTransaction")) ||
      (state.fault === "lose-receipts" && methods.includes("eth_getTransactionReceipt"))
        ? "drop"
        : "forward",
    // Forwarded (the node has the transaction) but the caller never hears back.
    afterForward: (methods) => (state.fault === "lose-send-answer" && methods.includes("eth_sendRawTransaction") ? "drop" : "answer"),
  });
  return { state, url: proxy.url, close: proxy.close };
}

let devnet: Devnet;
let proxy: Awaited<ReturnType<typeof faultyRpc>>;
let t: TestApp;
let app: ReturnType<typeof buildApp>;
let minterKey: string;
const recipients = [accounts[4]!, accounts[5]!, accounts[6]!];

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 1, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
  const chain = devnet.deployments.chains[0]!;
  proxy = await faultyRpc(chain.rpcUrl);
  const adminKey = generatePrivateKey();
  const chains = [{ chainId: chain.chainId, rpcUrl: proxy.url }];
  t = await createTestApp({ kv: "memory", chains, env: { ADMIN_ADDRESSES: privateKeyToAccount(adminKey).address } });
  const network = setupFromDeployments({ ...devnet.deployments, chains: [{ ...chain, rpcUrl: proxy.url }] }, 100);
  const signers = createServerSigners({ chains, privateKey: deployer.privateKey as Hex, pollingInterval: 20 });
  app = buildApp({ ...t.deps, network, signers });
  const admin = privateKeyToAccount(adminKey);
  const { nonce } = (await (await app.request(`/auth/nonce/${admin.address}`)).json()) as { nonce: string };
  const message = siweMessage({ address: admin.address, nonce, chainId: chain.chainId });
  const login = (await (await app.request("/auth/login", json({ message, signature: await admin.signMessage({ message }) }))).json()) as {
    accessToken: string;
  };
  const created = await app.request("/auth/api-keys", json({ name: "minter", roles: ["minter"] }, { authorization: `Bearer ${login.accessToken}` }));
  minterKey = ((await created.json()) as { key: string }).key;
});
afterAll(async () => {
  await t?.close();
  await proxy?.close();
  await devnet?.stop();
});

const balanceOf = (owner: Address) => {
  const chain = devnet.deployments.chains[0]!;
  return signerFor(chain, deployer.privateKey).publicClient.readContract({
    address: collectionOn(devnet.deployments, "cosmic", chain.chainId).address,
    abi: CosmicONFT721Abi,
    functionName: "balanceOf",
    args: [owner],
  });
};

async function mint(to: Address, key: string) {
  const body = { collection: "cosmic", chainId: devnet.deployments.chains[0]!.chainId, recipients: [to] };
  const res = await app.request("/nfts", json(body, { "x-api-key": minterKey, "idempotency-key": key }));
  return { status: res.status, body: (await res.json()) as any };
}

describe("POST /nfts with an unknown outcome", () => {
  it.each([
    ["the receipt is lost (the transaction was mined)", "lose-receipts", 0, 1],
    ["the answer to eth_sendRawTransaction is lost (the node has it)", "lose-send-answer", 1, 1],
    ["the send never reaches the node", "refuse-send", 2, 0],
  ] as const)("%s: 503, then a retry with the same key settles it — exactly one token", async (_, fault, who, mintedDuringFault) => {
    const to = recipients[who]!.address;
    const before = await balanceOf(to);
    proxy.state.fault = fault;
    const first = await mint(to, `order-${fault}`);
    proxy.state.fault = "none";
    expect(first.status).toBe(503);
    expect(["CHAIN_UNAVAILABLE", "MINT_UNCONFIRMED"]).toContain(first.body.error.code);
    expect(first.body.error.message).toMatch(/same Idempotency-Key/);
    expect((await balanceOf(to)) - before).toBe(BigInt(mintedDuringFault));

    const retry = await mint(to, `order-${fault}`);
    expect(retry.status).toBe(200); // a replay of the first request, now settled
    expect(retry.body.tokens).toHaveLength(1);
    expect(retry.body.tokens[0].to).toBe(to);
    expect((await balanceOf(to)) - before).toBe(1n);
    // Settled for good: the same answer again, still one token.
    const again = await mint(to, `order-${fault}`);
    expect(again.body).toEqual(retry.body);
    expect((await balanceOf(to)) - before).toBe(1n);
  });
});
