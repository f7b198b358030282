/**
 * Moving tokens between chains through our ONFT721 deployments: fee quotes (`quoteSend`), the
 * ONFT `SendParam`, the unsigned send transaction (for a wallet) and a server-side `sendToken` that
 * pays the quoted fee through a chain signer (approving the adapter first for adapter deployments).
 * Used by the devnet tests and the API.
 */
import { BRIDGE_DEFAULTS } from "../infra/config/bridge.js";
import { type Address, type Hash, type Hex, type PublicClient, type TransactionReceipt, encodeFunctionData, getAddress, pad, parseEventLogs } from "viem";
import { CosmicONFT721AdapterAbi } from "../abis/CosmicONFT721AdapterAbi.js";
import { LegacyERC721Abi } from "../abis/LegacyERC721Abi.js";
import { pathwayErrorOf } from "./layerzero/errors.js";
import { ONFT_SEND } from "./layerzero/options.js";
import { sendOptionsFor } from "./layerzero/pathway.js";
import type { ReadClient } from "./readClient.js";
import type { ChainSigner } from "./signer.js";

/** lzReceive gas for a send on a pathway whose OApp enforces no options: BRIDGE_DEFAULT_LZ_RECEIVE_GAS's default (infra/config/bridge.ts). */
export const DEFAULT_LZ_RECEIVE_GAS = BRIDGE_DEFAULTS.defaultLzReceiveGas;

/** The ONFT contract of a collection on one chain (a `CollectionDeployment` of the deployments file fits). */
export type OnftDeployment = {
  /** `onft`: burn/mint ONFT721; `adapter`: ONFT721Adapter that locks/unlocks `token`. */
  kind: "onft" | "adapter";
  /** The contract to call `send`/`quoteSend` on. */
  address: Address;
  /** The ERC-721 holding the tokens (the ONFT itself, or the adapted collection). */
  token: Address;
};

export type SendParam = {
  dstEid: number;
  to: Hex;
  tokenId: bigint;
  extraOptions: Hex;
  composeMsg: Hex;
  onftCmd: Hex;
};

export type MessagingFee = { nativeFee: bigint; lzTokenFee: bigint };

/** First token id of a chain's range: deployments mint only ids whose high bits (`id >> 64`) equal their EID. */
export function tokenIdInRange(eid: number, n: bigint | number): bigint {
  const low = BigInt(n);
  if (low < 0n || low >= 1n << 64n) throw new RangeError(`token serial ${low} outside 0..2^64-1`);
  return (BigInt(eid) << 64n) | low;
}

/** The EID whose range a token id belongs to (the chain it was minted on). */
export function tokenIdOrigin(tokenId: bigint): number {
  return Number(tokenId >> 64n);
}

/**
 * `SendParam` for a plain send: recipient as bytes32, no compose message, and `extraOptions` (none
 * when the collection enforces options; see `sendOptions`).
 */
export function buildSendParam(args: { dstEid: number; to: Address; tokenId: bigint; extraOptions?: Hex }): SendParam {
  return {
    dstEid: args.dstEid,
    to: pad(getAddress(args.to), { size: 32 }),
    tokenId: args.tokenId,
    extraOptions: args.extraOptions ?? "0x",
    composeMsg: "0x",
    onftCmd: "0x",
  };
}

/**
 * The options a send to `dstEid` must carry (chain/layerzero/pathway.ts `sendOptionsFor`): none
 * when the OApp enforces options, else lzReceive gas `defaultLzReceiveGas`.
 */
export async function sendOptions(
  client: ReadClient,
  deployment: Pick<OnftDeployment, "address">,
  dstEid: number,
  defaultLzReceiveGas: number | undefined = DEFAULT_LZ_RECEIVE_GAS,
): Promise<Hex> {
  const [peer, enforcedOptions] = await Promise.all([
    client.readContract({ address: deployment.address, abi: CosmicONFT721AdapterAbi, functionName: "peers", args: [dstEid] }),
    client.readContract({ address: deployment.address, abi: CosmicONFT721AdapterAbi, functionName: "enforcedOptions", args: [dstEid, ONFT_SEND] }),
  ]);
  return sendOptionsFor({ dstEid, peer, enforcedOptions }, defaultLzReceiveGas);
}

/** The LayerZero fee of sending `tokenId` to `dstEid` (native fee; we never pay in LZ token). PathwayError on a revert. */
export async function quoteSend(
  publicClient: ReadClient,
  deployment: Pick<OnftDeployment, "address">,
  args: { tokenId: bigint; dstEid: number; to: Address; extraOptions?: Hex },
): Promise<MessagingFee> {
  try {
    const fee = await publicClient.readContract({
      address: deployment.address,
      abi: CosmicONFT721AdapterAbi,
      functionName: "quoteSend",
      args: [buildSendParam(args), false],
    });
    return { nativeFee: fee.nativeFee, lzTokenFee: fee.lzTokenFee };
  } catch (error) {
    throw pathwayErrorOf(error, `quoteSend to EID ${args.dstEid}`) ?? error;
  }
}

/**
 * The unsigned `send` transaction a wallet signs (the API hands this out). For an adapter, the
 * holder must have approved the adapter for the token first (see `needsApproval`).
 */
export function buildSendTransaction(args: {
  deployment: Pick<OnftDeployment, "address">;
  tokenId: bigint;
  dstEid: number;
  to: Address;
  extraOptions?: Hex;
  fee: MessagingFee;
  refundAddress: Address;
}): { to: Address; data: Hex; value: bigint } {
  return {
    to: args.deployment.address,
    data: encodeFunctionData({
      abi: CosmicONFT721AdapterAbi,
      functionName: "send",
      args: [buildSendParam(args), { nativeFee: args.fee.nativeFee, lzTokenFee: 0n }, getAddress(args.refundAddress)],
    }),
    value: args.fee.nativeFee,
  };
}

/** Whether `holder` must approve the adapter before sending `tokenId` (always false for a plain ONFT). */
export async function needsApproval(publicClient: PublicClient, deployment: OnftDeployment, args: { tokenId: bigint; holder: Address }): Promise<boolean> {
  if (deployment.kind !== "adapter") return false;
  const [approved, forAll] = await Promise.all([
    publicClient.readContract({ address: deployment.token, abi: LegacyERC721Abi, functionName: "getApproved", args: [args.tokenId] }),
    publicClient.readContract({
      address: deployment.token,
      abi: LegacyERC721Abi,
      functionName: "isApprovedForAll",
      args: [getAddress(args.holder), deployment.address],
    }),
  ]);
  return !forAll && getAddress(approved) !== getAddress(deployment.address);
}

export type SentToken = {
  hash: Hash;
  /** LayerZero guid of the message (from ONFTSent), shared with ONFTReceived on the destination. */
  guid: Hex;
  fee: MessagingFee;
  receipt: TransactionReceipt;
};

/**
 * Sends `tokenId` from the signer's account to `to` on `dstEid`, paying the quoted fee. Approves the
 * adapter first when needed. Resolves once the send is mined (not delivered: the relayer does that).
 */
export async function sendToken(args: {
  signer: ChainSigner;
  deployment: OnftDeployment;
  tokenId: bigint;
  dstEid: number;
  to: Address;
  /** Where LayerZero refunds excess fee. Default: the signer. */
  refundAddress?: Address;
  /** Options to send with; default: resolved from the pathway (`sendOptions`). */
  extraOptions?: Hex;
}): Promise<SentToken> {
  const { signer, deployment, tokenId, dstEid, to } = args;
  if (await needsApproval(signer.publicClient, deployment, { tokenId, holder: signer.address })) {
    await signer.write({
      label: "ERC721.approve (adapter)",
      address: deployment.token,
      abi: LegacyERC721Abi,
      functionName: "approve",
      args: [deployment.address, tokenId],
    });
  }
  const extraOptions = args.extraOptions ?? (await sendOptions(signer.publicClient, deployment, dstEid));
  const fee = await quoteSend(signer.publicClient, deployment, { tokenId, dstEid, to, extraOptions });
  const receipt = await signer.write({
    label: `ONFT.send ${tokenId} → EID ${dstEid}`,
    address: deployment.address,
    abi: CosmicONFT721AdapterAbi,
    functionName: "send",
    args: [buildSendParam({ dstEid, to, tokenId, extraOptions }), { nativeFee: fee.nativeFee, lzTokenFee: 0n }, args.refundAddress ?? signer.address],
    value: fee.nativeFee,
  });
  const sent = parseEventLogs({ abi: CosmicONFT721AdapterAbi, eventName: "ONFTSent", logs: receipt.logs }).find(
    (log) => getAddress(log.address) === getAddress(deployment.address),
  );
  if (!sent) throw new Error(`send of token ${tokenId} mined without an ONFTSent log (tx ${receipt.transactionHash})`);
  return { hash: receipt.transactionHash, guid: sent.args.guid, fee, receipt };
}
