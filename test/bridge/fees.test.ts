/**
 * Real LayerZero fees on the devnet's production stack, through `GET /bridge/estimate` (our app
 * in-process, a 2-chain devnet; no indexer needed for quotes): the breakdown by worker sums to
 * quoteSend; it moves after a PriceFeed update once the estimate cache expires; 2 required DVNs
 * cost more than 1; a collection without enforced options is refused by the stack with empty
 * options while our estimate still quotes (default lzReceive gas); misconfigured pathways answer
 * with a code; the options codec agrees with the contract's combineOptions.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { type Abi, type Address, type Hex, encodeAbiParameters, pad, zeroHash } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import { ExecutorAbi } from "../../abis/ExecutorAbi.js";
import { PriceFeedAbi } from "../../abis/PriceFeedAbi.js";
import { buildApp } from "../../api/app.js";
import { bridgeSettings } from "../../infra/config/bridge.js";
import { PathwayError } from "../../chain/layerzero/errors.js";
import { ONFT_SEND, combineOptions, lzReceiveOptions } from "../../chain/layerzero/options.js";
import { CONFIG_TYPE_ULN, readSendPathway } from "../../chain/layerzero/pathway.js";
import { quoteSend, tokenIdInRange } from "../../chain/onft.js";
import type { Deployments } from "../../chain/deployments.js";
import type { Devnet } from "../../devnet/start.js";
import { setupFromDeployments } from "../../indexer/setup.js";
import { projectRoot } from "../../scripts/contracts/compile.js";
import { type TestApp, createTestApp } from "../api/helpers.js";
import { accounts, chainAt, collectionOn, deployer, signerFor, startTestDevnet } from "../helpers/devnet.js";

let devnet: Devnet;
let t: TestApp;
let app: ReturnType<typeof buildApp>;
const alice = accounts[1]!;
let serial = 1n;
const TTL_SECONDS = 1;

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 2 });
  const chains = devnet.deployments.chains.map((c) => ({ chainId: c.chainId, rpcUrl: c.rpcUrl }));
  t = await createTestApp({ kv: "redis", chains });
  app = buildApp({ ...t.deps, network: setupFromDeployments(devnet.deployments, 100), bridge: bridgeSettings({ estimateTtlSeconds: TTL_SECONDS }) });
});
afterAll(async () => {
  await t?.close();
  await devnet?.stop();
});

const a = () => chainAt(devnet.deployments, 0);
const b = () => chainAt(devnet.deployments, 1);
const cosmicA = () => collectionOn(devnet.deployments, "cosmic", a().chainId);
const owner = () => signerFor(a(), deployer.privateKey);
const client = () => owner().publicClient;

async function mint(): Promise<bigint> {
  const id = tokenIdInRange(a().eid, serial++);
  await owner().write({ address: cosmicA().address, abi: CosmicONFT721Abi, functionName: "mint", args: [alice.address, id] });
  return id;
}
async function estimate(tokenId: bigint) {
  const res = await app.request(`/bridge/estimate?collection=cosmic&tokenId=${tokenId}&srcChain=${a().chainId}&dstChain=${b().chainId}`);
  return { status: res.status, body: (await res.json()) as any };
}
const sum = (body: any) =>
  BigInt(body.breakdown.executor.fee) + body.breakdown.dvns.reduce((s: bigint, d: any) => s + BigInt(d.fee), 0n) + BigInt(body.breakdown.treasury.fee);

/** CosmicONFT721 on both chains, peers set, no enforced options. */
async function deployBareCollection(): Promise<[Address, Address]> {
  const artifact = JSON.parse(readFileSync(path.join(projectRoot, "artifacts/CosmicONFT721.json"), "utf8")) as { abi: Abi; bytecode: Hex };
  const deployOn = async (i: 0 | 1) => {
    const chain = chainAt(devnet.deployments, i);
    const signer = signerFor(chain, deployer.privateKey);
    const { address } = await signer.deploy({
      label: "bare CosmicONFT721",
      abi: artifact.abi,
      bytecode: artifact.bytecode,
      args: ["Bare", "BARE", "https://bare.test/", chain.endpoint, deployer.address],
    });
    await signer.write({ address, abi: CosmicONFT721Abi, functionName: "setMinter", args: [deployer.address, true] });
    return address;
  };
  const onA = await deployOn(0);
  const onB = await deployOn(1);
  await owner().write({ address: onA, abi: CosmicONFT721Abi, functionName: "setPeer", args: [b().eid, pad(onB, { size: 32 })] });
  await signerFor(b(), deployer.privateKey).write({ address: onB, abi: CosmicONFT721Abi, functionName: "setPeer", args: [a().eid, pad(onA, { size: 32 })] });
  return [onA, onB];
}
const bareDeployments = ([onA, onB]: [Address, Address]): Deployments => ({
  ...devnet.deployments,
  collections: [
    ...devnet.deployments.collections,
    {
      slug: "bare",
      name: "Bare",
      symbol: "BARE",
      deployments: [a(), b()].map((c, i) => ({
        chainId: c.chainId,
        eid: c.eid,
        kind: "onft" as const,
        address: i ? onB : onA,
        token: i ? onB : onA,
        startBlock: c.startBlock,
      })),
    },
  ],
});
const enforcedDefault = () => lzReceiveOptions(BigInt(devnet.deployments.layerZeroSettings.lzReceiveGas));

describe("bridge fees on the production stack", () => {
  it("the estimate is quoteSend, and its breakdown (executor, each DVN, treasury) sums to it", async () => {
    const id = await mint();
    const est = await estimate(id);
    expect(est.status, JSON.stringify(est.body)).toBe(200);
    const onchain = await quoteSend(client(), cosmicA(), { tokenId: id, dstEid: b().eid, to: alice.address });
    expect(est.body.nativeFee).toBe(onchain.nativeFee.toString());
    expect(sum(est.body)).toBe(onchain.nativeFee);
    expect(est.body.breakdown).toMatchObject({
      total: onchain.nativeFee.toString(),
      matchesQuote: true,
      executor: { address: a().layerZero.executor.address },
      treasury: { address: a().layerZero.treasury },
    });
    expect(est.body.breakdown.dvns.map((d: any) => d.address).sort()).toEqual(
      a()
        .layerZero.dvns.map((d) => d.address)
        .sort(),
    );
    for (const part of [est.body.breakdown.executor, ...est.body.breakdown.dvns, est.body.breakdown.treasury]) expect(BigInt(part.fee)).toBeGreaterThan(0n);
    // The collection enforces options: the send carries none.
    expect(est.body).toMatchObject({
      extraOptions: "0x",
      options: { sent: null, enforced: { lzReceiveGas: String(devnet.deployments.layerZeroSettings.lzReceiveGas) } },
      confirmations: 1,
    });
  });

  it("moves after a PriceFeed update, within the estimate cache's TTL", async () => {
    const id = await mint();
    const before = await estimate(id);
    const priceFeed = a().layerZero.priceFeed;
    const price = (gwei: bigint) => ({ eid: b().eid % 30_000, price: { priceRatio: 10n ** 20n, gasPriceInUnit: gwei * 10n ** 9n, gasPerByte: 16 } });
    await owner().write({ address: priceFeed, abi: PriceFeedAbi, functionName: "setPrice", args: [[price(3n)]] });
    try {
      expect((await estimate(id)).body.nativeFee).toBe(before.body.nativeFee); // cached
      await new Promise((r) => setTimeout(r, TTL_SECONDS * 1000 + 100));
      const after = await estimate(id);
      expect(BigInt(after.body.nativeFee)).toBeGreaterThan(BigInt(before.body.nativeFee));
      expect(sum(after.body)).toBe(BigInt(after.body.nativeFee));
      expect(after.body.nativeFee).toBe((await quoteSend(client(), cosmicA(), { tokenId: id, dstEid: b().eid, to: alice.address })).nativeFee.toString());
    } finally {
      await owner().write({
        address: priceFeed,
        abi: PriceFeedAbi,
        functionName: "setPrice",
        args: [[price(BigInt(devnet.deployments.layerZeroSettings.gasPriceGwei[0]!))]],
      });
    }
  });

  it("2 required DVNs cost more than 1 (the OApp's own ULN config)", async () => {
    const pathway = await readSendPathway(client(), { endpoint: a().endpoint, oapp: cosmicA().address, dstEid: b().eid });
    expect(pathway.uln.requiredDVNs).toHaveLength(2);
    const two = await quoteSend(client(), cosmicA(), { tokenId: await mint(), dstEid: b().eid, to: alice.address });
    const ulnConfig = (dvns: Address[]) =>
      encodeAbiParameters(
        [
          {
            type: "tuple",
            components: [{ type: "uint64" }, { type: "uint8" }, { type: "uint8" }, { type: "uint8" }, { type: "address[]" }, { type: "address[]" }],
          },
        ],
        [[1n, dvns.length, 0, 0, dvns, []]],
      );
    const setUln = (dvns: Address[]) =>
      owner().write({
        address: a().endpoint,
        abi: EndpointV2Abi,
        functionName: "setConfig",
        args: [cosmicA().address, a().layerZero.sendUln302, [{ eid: b().eid, configType: CONFIG_TYPE_ULN, config: ulnConfig(dvns) }]],
      });
    await setUln([pathway.uln.requiredDVNs[0]!]);
    try {
      const id = await mint();
      const one = await estimate(id);
      expect(one.body.breakdown.dvns).toHaveLength(1);
      expect(BigInt(one.body.nativeFee)).toBeLessThan(two.nativeFee);
      expect(sum(one.body)).toBe(BigInt(one.body.nativeFee));
    } finally {
      await setUln(pathway.uln.requiredDVNs); // back to the default's DVNs (sorted as read)
    }
  });

  it("without enforced options the stack refuses empty options; our estimate sends the default lzReceive gas", async () => {
    // A collection deployed the way ours were before (no enforced options); enforced options cannot
    // be removed once set (setEnforcedOptions refuses empty options).
    const bare = await deployBareCollection();
    const id = tokenIdInRange(a().eid, 1n);
    await owner().write({ address: bare[0]!, abi: CosmicONFT721Abi, functionName: "mint", args: [alice.address, id] });
    const deployment = { address: bare[0]! };
    await expect(quoteSend(client(), deployment, { tokenId: id, dstEid: b().eid, to: alice.address, extraOptions: "0x" })).rejects.toMatchObject({
      code: "INVALID_OPTIONS",
      message: expect.stringContaining("LZ_ULN_InvalidWorkerOptions(0)"),
    });
    const withBare = (bridge = bridgeSettings()) => buildApp({ ...t.deps, network: setupFromDeployments(bareDeployments(bare), 100), bridge });
    const res = await withBare().request(`/bridge/estimate?collection=bare&tokenId=${id}&srcChain=${a().chainId}&dstChain=${b().chainId}`);
    const est = (await res.json()) as any;
    expect(res.status, JSON.stringify(est)).toBe(200);
    expect(est).toMatchObject({ options: { enforced: null, sent: { lzReceiveGas: "200000" } }, breakdown: { matchesQuote: true } });
    const explicit = await quoteSend(client(), deployment, { tokenId: id, dstEid: b().eid, to: alice.address, extraOptions: est.extraOptions });
    expect(est.nativeFee).toBe(explicit.nativeFee.toString());

    // With no default gas configured either, the route says why instead of failing on chain.
    const refused = await withBare(bridgeSettings({ defaultLzReceiveGas: 0 })).request(
      `/bridge/estimate?collection=bare&tokenId=${id}&srcChain=${a().chainId}&dstChain=${b().chainId}`,
    );
    expect([refused.status, ((await refused.json()) as any).error.code]).toEqual([422, "NO_EXECUTOR_OPTIONS"]);
  });

  it("the options codec agrees with the contract's combineOptions", async () => {
    const extra = lzReceiveOptions(12_345n, 7n);
    const onchain = await client().readContract({
      address: cosmicA().address,
      abi: CosmicONFT721Abi,
      functionName: "combineOptions",
      args: [b().eid, ONFT_SEND, extra],
    });
    expect(onchain).toBe(combineOptions(enforcedDefault(), extra));
  });

  it("misconfigured pathways answer with a code naming the cause, never a raw revert", async () => {
    // Executor without a destination config for the EID → UNSUPPORTED_EID.
    const executor = a().layerZero.executor.address;
    const dst = (lzReceiveBaseGas: bigint) => ({
      dstEid: b().eid,
      lzReceiveBaseGas,
      lzComposeBaseGas: 0n,
      multiplierBps: 12_000,
      floorMarginUSD: 0n,
      nativeCap: 10n ** 18n,
    });
    await owner().write({ address: executor, abi: ExecutorAbi, functionName: "setDstConfig", args: [[dst(0n)]] });
    try {
      const unsupported = await estimate(await mint());
      expect([unsupported.status, unsupported.body.error.code]).toEqual([422, "UNSUPPORTED_EID"]);
      expect(unsupported.body.error.message).toMatch(/Executor_EidNotSupported\(/);
    } finally {
      await owner().write({ address: executor, abi: ExecutorAbi, functionName: "setDstConfig", args: [[dst(5_000n)]] });
    }
    // No peer → NO_PEER.
    await owner().write({ address: cosmicA().address, abi: CosmicONFT721Abi, functionName: "setPeer", args: [b().eid, zeroHash] });
    try {
      const noPeer = await estimate(await mint());
      expect([noPeer.status, noPeer.body.error.code]).toEqual([422, "NO_PEER"]);
    } finally {
      await owner().write({
        address: cosmicA().address,
        abi: CosmicONFT721Abi,
        functionName: "setPeer",
        args: [b().eid, pad(collectionOn(devnet.deployments, "cosmic", b().chainId).address, { size: 32 })],
      });
    }
    // An EID the endpoint has no library for → PATHWAY_NOT_CONFIGURED (the code path of every route).
    await expect(readSendPathway(client(), { endpoint: a().endpoint, oapp: cosmicA().address, dstEid: 50_099 })).rejects.toSatisfy(
      (e: unknown) => e instanceof PathwayError && e.code === "PATHWAY_NOT_CONFIGURED" && /LZ_DefaultSendLibUnavailable/.test(e.message),
    );
  });
});
