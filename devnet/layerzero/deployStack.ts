/**
 * Deploys LayerZero's production message stack on one devnet chain and wires its pathways to the
 * other chains, in the order LayerZero's contracts require (../../docs/devnet.md, "The LayerZero
 * stack"):
 *   EndpointV2 → SendUln302 / ReceiveUln302 (registered) → Treasury → PriceFeed (prices per remote,
 *   looked up by `eid % 30000`) → Executor + ExecutorFeeLib (destination configs) → DVNs + DVNFeeLibs
 *   (destination configs) → ReceiveUln302View, LzExecutor → default ULN configs on both libraries and
 *   the default executor config → only then the endpoint's default send/receive libraries (before
 *   the configs they revert `LZ_UnsupportedEid`).
 * Everything is LayerZero's prebuilt bytecode (artifacts.ts). Transactions go out one after another
 * (chains in parallel).
 */
import { gunzipSync } from "node:zlib";
import { type Address, type Hex, getAddress, pad, parseEther, parseGwei } from "viem";
import { DVNAbi } from "../../abis/DVNAbi.js";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import { ExecutorAbi } from "../../abis/ExecutorAbi.js";
import { LzExecutorAbi } from "../../abis/LzExecutorAbi.js";
import { PriceFeedAbi } from "../../abis/PriceFeedAbi.js";
import { ReceiveUln302Abi } from "../../abis/ReceiveUln302Abi.js";
import { ReceiveUln302ViewAbi } from "../../abis/ReceiveUln302ViewAbi.js";
import { SendUln302Abi } from "../../abis/SendUln302Abi.js";
import { TreasuryAbi } from "../../abis/TreasuryAbi.js";
import type { ChainSigner } from "../../chain/signer.js";
import { COMMITTER_INDEX, DVN_ADMIN_INDEX, EXECUTOR_INDEX, devnetAccount, dvnSignerAccount } from "../accounts.js";
import { anvilRpc } from "../anvil.js";
import type { LayerZeroDeployment } from "../../chain/deployments.js";
import type { LayerZeroSettings } from "../options.js";
import { type LayerZeroContract, layerZeroArtifact } from "./artifacts.js";

/** The price ratio denominator PriceFeed.initialize sets (a ratio of 1e20 = same native price). */
const PRICE_RATIO_DENOMINATOR = 10n ** 20n;
/** Worker defaults, in the range LayerZero's own deployments use. */
const EXECUTOR_LZ_RECEIVE_BASE_GAS = 5_000n;
const EXECUTOR_NATIVE_CAP = parseEther("1");
const DVN_VERIFY_GAS = 200_000n;
const MULTIPLIER_BPS = 12_000; // workers charge 120 % of their cost
const MAX_MESSAGE_SIZE = 10_000;
/** SendUln302's treasury call gas limit and native fee cap (constructor arguments). */
const TREASURY_GAS_LIMIT = 100_000n;
const TREASURY_NATIVE_FEE_CAP = 100_000n;

export type StackChain = { name: string; chainId: number; eid: number; rpcUrl: string };

/** Worker keys on every chain: the executor's admin, the committer, each DVN's admin. */
export function workerAccounts(settings: Pick<LayerZeroSettings, "dvns">) {
  return {
    executor: devnetAccount(EXECUTOR_INDEX),
    committer: devnetAccount(COMMITTER_INDEX),
    dvnAdmins: Array.from({ length: settings.dvns }, (_, i) => devnetAccount(DVN_ADMIN_INDEX + i)),
  };
}

/** The signer set of DVN operator `i` (the same on every chain), sorted as signatures must be. */
export function dvnSigners(i: number, settings: Pick<LayerZeroSettings, "dvnSigners">) {
  return Array.from({ length: settings.dvnSigners }, (_, j) => dvnSignerAccount(i, j)).sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
}

export const sortAddresses = (list: readonly Address[]) => [...list].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));

export async function deployLayerZeroStack(args: {
  signer: ChainSigner;
  chain: StackChain;
  /** The other chains this one talks to, with their gas price (what this chain's PriceFeed quotes). */
  remotes: { eid: number; gasPriceGwei: number }[];
  settings: LayerZeroSettings;
  owner: Address;
  /** Where EndpointV2 must live (a real network's address): its code and storage are placed there. */
  endpointAt?: Address;
}): Promise<{ endpoint: Address; layerZero: LayerZeroDeployment }> {
  const { signer, chain, remotes, settings, owner } = args;
  const deploy = async (name: LayerZeroContract, ctorArgs: readonly unknown[] = [], label: string = name) => {
    const { abi, bytecode } = layerZeroArtifact(name);
    return (await signer.deploy({ label, abi, bytecode, args: ctorArgs })).address;
  };
  const workers = workerAccounts(settings);
  const roles = [workers.executor, workers.committer, ...workers.dvnAdmins];
  await Promise.all(roles.map((a) => anvilRpc(chain.rpcUrl, "anvil_setBalance", [a.address, `0x${parseEther("1000").toString(16)}`])));

  // Deployments one after another: the signer sends each with the gas cap (25M), and anvil's
  // automine fits one such transaction per 30M-gas block — a second one would wait in the pool for
  // the next transaction to arrive.
  const deployedEndpoint = await deploy("EndpointV2", [chain.eid, owner]);
  const endpoint = args.endpointAt ? await relocate(chain.rpcUrl, deployedEndpoint, args.endpointAt) : deployedEndpoint;
  const sendUln302 = await deploy("SendUln302", [endpoint, TREASURY_GAS_LIMIT, TREASURY_NATIVE_FEE_CAP]);
  const receiveUln302 = await deploy("ReceiveUln302", [endpoint]);
  const treasury = await deploy("Treasury");
  const priceFeed = await deploy("PriceFeed");
  const executor = await deploy("Executor");
  const executorFeeLib = await deploy("ExecutorFeeLib", [chain.eid, 10n ** 18n]);
  const receiveUln302View = await deploy("ReceiveUln302View");
  const lzExecutor = await deploy("LzExecutor");
  const vid = chain.eid % 30_000;
  const dvns: LayerZeroDeployment["dvns"] = [];
  for (let i = 0; i < settings.dvns; i++) {
    const signers = dvnSigners(i, settings).map((s) => s.address);
    const admin = workers.dvnAdmins[i]!.address;
    const feeLib = await deploy("DVNFeeLib", [chain.eid, 10n ** 18n], `DVNFeeLib ${i}`);
    const address = await deploy(
      "DVN",
      [chain.eid, vid, [sendUln302, receiveUln302], priceFeed, signers, BigInt(settings.dvnQuorum), [owner, admin]],
      `DVN ${i}`,
    );
    dvns.push({ name: `dvn-${i}`, vid, address, feeLib, admin, signers, quorum: settings.dvnQuorum });
  }

  const remoteEids = remotes.map((r) => r.eid);
  // One transaction after another: concurrent sends of one account are where anvil's automine
  // misbehaves (ready transactions left unmined, foundry-rs/foundry#10122, and once a nonce
  // reported too low); sequential, the whole chain is wired in about a second anyway.
  const writes: (() => Promise<unknown>)[] = [
    () =>
      signer.write({
        label: "EndpointV2.registerLibrary(SendUln302)",
        address: endpoint,
        abi: EndpointV2Abi,
        functionName: "registerLibrary",
        args: [sendUln302],
      }),
    () =>
      signer.write({
        label: "EndpointV2.registerLibrary(ReceiveUln302)",
        address: endpoint,
        abi: EndpointV2Abi,
        functionName: "registerLibrary",
        args: [receiveUln302],
      }),
    () =>
      signer.write({
        label: "Treasury.setNativeFeeBP",
        address: treasury,
        abi: TreasuryAbi,
        functionName: "setNativeFeeBP",
        args: [BigInt(settings.treasuryBps)],
      }),
    () => signer.write({ label: "SendUln302.setTreasury", address: sendUln302, abi: SendUln302Abi, functionName: "setTreasury", args: [treasury] }),
    () => signer.write({ label: "PriceFeed.initialize", address: priceFeed, abi: PriceFeedAbi, functionName: "initialize", args: [owner] }),
    () =>
      signer.write({
        label: "PriceFeed.setPrice",
        address: priceFeed,
        abi: PriceFeedAbi,
        functionName: "setPrice",
        // PriceFeed keys its prices by `eid % 30000`.
        args: [
          remotes.map((r) => ({
            eid: r.eid % 30_000,
            price: { priceRatio: PRICE_RATIO_DENOMINATOR, gasPriceInUnit: parseGwei(String(r.gasPriceGwei)), gasPerByte: 16 },
          })),
        ],
      }),
    () =>
      signer.write({
        label: "PriceFeed.setNativeTokenPriceUSD",
        address: priceFeed,
        abi: PriceFeedAbi,
        functionName: "setNativeTokenPriceUSD",
        args: [BigInt(Math.round(settings.nativePriceUsd * 100)) * (PRICE_RATIO_DENOMINATOR / 100n)],
      }),
    // At once after deployment: an uninitialised Executor can be initialised by anyone.
    () =>
      signer.write({
        label: "Executor.initialize",
        address: executor,
        abi: ExecutorAbi,
        functionName: "initialize",
        args: [endpoint, "0x0000000000000000000000000000000000000000", [sendUln302, receiveUln302], priceFeed, owner, [owner, workers.executor.address]],
      }),
    () => signer.write({ label: "Executor.setWorkerFeeLib", address: executor, abi: ExecutorAbi, functionName: "setWorkerFeeLib", args: [executorFeeLib] }),
    () =>
      signer.write({
        label: "Executor.setDstConfig",
        address: executor,
        abi: ExecutorAbi,
        functionName: "setDstConfig",
        args: [
          remoteEids.map((dstEid) => ({
            dstEid,
            lzReceiveBaseGas: EXECUTOR_LZ_RECEIVE_BASE_GAS,
            lzComposeBaseGas: 0n,
            multiplierBps: MULTIPLIER_BPS,
            floorMarginUSD: 0n,
            nativeCap: EXECUTOR_NATIVE_CAP,
          })),
        ],
      }),
    () =>
      signer.write({
        label: "ReceiveUln302View.initialize",
        address: receiveUln302View,
        abi: ReceiveUln302ViewAbi,
        functionName: "initialize",
        args: [endpoint, receiveUln302],
      }),
    () =>
      signer.write({
        label: "LzExecutor.initialize",
        address: lzExecutor,
        abi: LzExecutorAbi,
        functionName: "initialize",
        args: [receiveUln302, receiveUln302View, endpoint],
      }),
    ...dvns.flatMap((dvn) => [
      () => signer.write({ label: `${dvn.name}.setWorkerFeeLib`, address: dvn.address, abi: DVNAbi, functionName: "setWorkerFeeLib", args: [dvn.feeLib] }),
      () =>
        signer.write({
          label: `${dvn.name}.setDstConfig`,
          address: dvn.address,
          abi: DVNAbi,
          functionName: "setDstConfig",
          args: [remoteEids.map((dstEid) => ({ dstEid, gas: DVN_VERIFY_GAS, multiplierBps: MULTIPLIER_BPS, floorMarginUSD: 0n }))],
        }),
    ]),
  ];
  if (remoteEids.length) {
    const ulnConfig = defaultUlnConfig(
      dvns.map((d) => d.address),
      settings,
    );
    const ulnParams = remoteEids.map((eid) => ({ eid, config: ulnConfig }));
    writes.push(
      () =>
        signer.write({
          label: "SendUln302.setDefaultUlnConfigs",
          address: sendUln302,
          abi: SendUln302Abi,
          functionName: "setDefaultUlnConfigs",
          args: [ulnParams],
        }),
      () =>
        signer.write({
          label: "ReceiveUln302.setDefaultUlnConfigs",
          address: receiveUln302,
          abi: ReceiveUln302Abi,
          functionName: "setDefaultUlnConfigs",
          args: [ulnParams],
        }),
      () =>
        signer.write({
          label: "SendUln302.setDefaultExecutorConfigs",
          address: sendUln302,
          abi: SendUln302Abi,
          functionName: "setDefaultExecutorConfigs",
          args: [remoteEids.map((eid) => ({ eid, config: { maxMessageSize: MAX_MESSAGE_SIZE, executor } }))],
        }),
      // Only after the default configs: the endpoint reverts LZ_UnsupportedEid otherwise.
      ...remoteEids.flatMap((eid) => [
        () =>
          signer.write({
            label: `EndpointV2.setDefaultSendLibrary(${eid})`,
            address: endpoint,
            abi: EndpointV2Abi,
            functionName: "setDefaultSendLibrary",
            args: [eid, sendUln302],
          }),
        () =>
          signer.write({
            label: `EndpointV2.setDefaultReceiveLibrary(${eid})`,
            address: endpoint,
            abi: EndpointV2Abi,
            functionName: "setDefaultReceiveLibrary",
            args: [eid, receiveUln302, 0n],
          }),
      ]),
    );
  }
  for (const write of writes) await write();

  return {
    endpoint,
    layerZero: {
      sendUln302,
      receiveUln302,
      receiveUln302View,
      lzExecutor,
      priceFeed,
      treasury,
      executor: { address: executor, feeLib: executorFeeLib, admin: workers.executor.address },
      dvns,
      committer: workers.committer.address,
    },
  };
}

/**
 * Places a deployed contract's code and storage at `target` (anvil_setCode / anvil_setStorageAt, the
 * storage read from anvil_dumpState): EndpointV2 then sits at a real network's address, with its
 * constructor's state (owner, the blocked library registered) and its immutables (eid) as deployed.
 * Only for contracts nothing else points at yet.
 */
async function relocate(rpcUrl: string, from: Address, target: Address): Promise<Address> {
  const code = (await anvilRpc(rpcUrl, "eth_getCode", [from, "latest"])) as string;
  const dump = String(await anvilRpc(rpcUrl, "anvil_dumpState", []));
  const raw = Buffer.from(dump.slice(2), "hex");
  let state: { accounts: Record<string, { storage: Record<string, string> }> };
  try {
    state = JSON.parse(gunzipSync(raw).toString());
  } catch {
    state = JSON.parse(raw.toString());
  }
  const account = Object.entries(state.accounts).find(([a]) => a.toLowerCase() === from.toLowerCase())?.[1];
  if (!account) throw new Error(`relocating ${from}: not in anvil's state dump`);
  await anvilRpc(rpcUrl, "anvil_setCode", [target, code]);
  for (const [slot, value] of Object.entries(account.storage))
    await anvilRpc(rpcUrl, "anvil_setStorageAt", [target, pad(slot as Hex, { size: 32 }), pad(value as Hex, { size: 32 })]);
  return getAddress(target);
}

/** The first `requiredDvns` DVNs required, the rest optional with threshold 1; sorted as ULN wants. */
export function defaultUlnConfig(dvnAddresses: readonly Address[], settings: Pick<LayerZeroSettings, "requiredDvns" | "confirmations">) {
  const required = sortAddresses(dvnAddresses.slice(0, settings.requiredDvns));
  const optional = sortAddresses(dvnAddresses.slice(settings.requiredDvns));
  return {
    confirmations: BigInt(settings.confirmations),
    requiredDVNCount: required.length,
    optionalDVNCount: optional.length,
    optionalDVNThreshold: optional.length ? 1 : 0,
    requiredDVNs: required,
    optionalDVNs: optional,
  };
}
