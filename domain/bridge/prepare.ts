/** Fee quotes, prepared bridge transactions and linking prepared operations to indexed sends. */
import { randomUUID } from "node:crypto";
import { and, eq, isNotNull } from "drizzle-orm";
import {
  type Address,
  ContractFunctionExecutionError,
  type Hex,
  TransactionReceiptNotFoundError,
  encodeFunctionData,
  getAddress,
  parseEventLogs,
  zeroHash,
} from "viem";
import * as viemChains from "viem/chains";
import { CosmicONFT721AdapterAbi } from "../../abis/CosmicONFT721AdapterAbi.js";
import { LegacyERC721Abi } from "../../abis/LegacyERC721Abi.js";
import { PathwayError } from "../../chain/layerzero/errors.js";
import { quoteBreakdown } from "../../chain/layerzero/fees.js";
import { InvalidOptionsError, combineOptions } from "../../chain/layerzero/options.js";
import { describeOptions, readSendPathway, sendOptionsFor } from "../../chain/layerzero/pathway.js";
import { buildSendTransaction, needsApproval, quoteSend } from "../../chain/onft.js";
import type { IndexerDeployment } from "../../indexer/setup.js";
import { bridgeOperations } from "../../offchain/tables/nfts.js";
import { chainById, collectionOf, publicClientFor, requireNetwork } from "../chains/clients.js";
import type { RequestDeps } from "../deps.js";
import { ServiceError, dependencyDown, forbidden, unprocessable } from "../../infra/errors.js";
import { findSendFor, sendByTxHash } from "../../read/bridges.js";
import type { SendRow } from "../../read/tokens.js";

export type Route = { collection: string; tokenId: bigint; srcChainId: number; dstChainId: number };

const symbols = new Map<number, string>(
  Object.values(viemChains).map((c) => [(c as { id: number }).id, (c as { nativeCurrency: { symbol: string } }).nativeCurrency.symbol]),
);
export const nativeSymbol = (chainId: number) => symbols.get(chainId) ?? "ETH";

function rpcError(error: unknown, chainId: number): never {
  if (error instanceof ServiceError) throw error;
  throw dependencyDown(
    "CHAIN_UNAVAILABLE",
    `chain ${chainId} RPC did not answer: ${(error as { shortMessage?: string }).shortMessage ?? "error"}`.slice(0, 200),
    error,
  );
}

/** Validates the route (chains, deployments, peer) and finds the token's holder on the source chain. */
export async function checkRoute(
  deps: RequestDeps,
  route: Route,
): Promise<{ src: IndexerDeployment; dst: IndexerDeployment; dstEid: number; holder: Address }> {
  const network = requireNetwork(deps);
  if (route.srcChainId === route.dstChainId) throw unprocessable("SAME_CHAIN", "source and destination chains are the same");
  const srcChain = chainById(network, route.srcChainId, "source chain");
  const dstChain = chainById(network, route.dstChainId, "destination chain");
  const collection = collectionOf(network, route.collection);
  const src = collection.deployments.find((d) => d.chainId === srcChain.chainId);
  const dst = collection.deployments.find((d) => d.chainId === dstChain.chainId);
  if (!src || !dst)
    throw unprocessable("NO_ROUTE", `collection ${route.collection} is not deployed on both chains ${srcChain.chainId} and ${dstChain.chainId}`);
  const client = publicClientFor(deps, srcChain.chainId);
  let peer: Hex;
  let holder: Address | undefined;
  try {
    [peer, holder] = await Promise.all([
      client.readContract({ address: src.address, abi: CosmicONFT721AdapterAbi, functionName: "peers", args: [dstChain.eid] }),
      client.readContract({ address: src.token, abi: LegacyERC721Abi, functionName: "ownerOf", args: [route.tokenId] }).catch((e: unknown) => {
        if (e instanceof ContractFunctionExecutionError) return undefined; // nonexistent token: reverts
        throw e;
      }),
    ]);
  } catch (error) {
    rpcError(error, srcChain.chainId);
  }
  if (peer === zeroHash)
    throw unprocessable("NO_PEER", `the ${route.collection} contract on chain ${srcChain.chainId} has no peer on chain ${dstChain.chainId}`);
  // On an adapter's home chain, a token held by the adapter is away on another chain.
  if (!holder || getAddress(holder) === getAddress(src.address))
    throw unprocessable("TOKEN_NOT_ON_SOURCE_CHAIN", `token ${route.tokenId} is not on chain ${srcChain.chainId}`);
  return { src, dst, dstEid: dstChain.eid, holder: getAddress(holder) };
}

/** A pathway misconfigured on chain answers with a code naming the cause, never a raw revert. */
export function pathwayFailure(error: unknown, chainId: number): never {
  if (error instanceof PathwayError) {
    if (error.code === "WORKER_UNAVAILABLE") throw dependencyDown(error.code, error.message, error);
    throw unprocessable(error.code, error.message);
  }
  if (error instanceof InvalidOptionsError) throw unprocessable("INVALID_OPTIONS", error.message);
  rpcError(error, chainId);
}

type CachedQuote = {
  nativeFee: string;
  lzTokenFee: string;
  expiresAt: string;
  /** The `extraOptions` of the send: none when the collection enforces options. */
  extraOptions: Hex;
  options: { enforced: ReturnType<typeof describeOptions>; sent: ReturnType<typeof describeOptions> };
  breakdown: {
    executor: { address: Address; fee: string };
    dvns: { address: Address; required: boolean; fee: string }[];
    treasury: { address: Address | null; fee: string };
    total: string;
    /** Whether the workers' own quotes add up to quoteSend's native fee. */
    matchesQuote: boolean;
  };
  confirmations: number;
};

/**
 * The fee of a route as the chain quotes it (`quoteSend`) with its breakdown by worker, read for
 * the options the send will carry; cached per route and token for BRIDGE_ESTIMATE_TTL_SECONDS (a
 * PriceFeed change shows after at most that long).
 */
export async function estimate(deps: RequestDeps, route: Route, to?: Address) {
  const checked = await checkRoute(deps, route);
  const ttl = deps.bridge.estimateTtlSeconds;
  // The default lzReceive gas decides the options of collections without enforced ones: part of the key.
  const key = `bridge:quote:v2:${route.collection}:${route.tokenId}:${route.srcChainId}:${route.dstChainId}:${deps.bridge.defaultLzReceiveGas}`;
  let quote: CachedQuote | undefined;
  const hit = await deps.kv.get(key).catch(() => null);
  if (hit) quote = JSON.parse(hit) as CachedQuote;
  if (!quote) {
    const client = publicClientFor(deps, route.srcChainId);
    const srcChain = chainById(requireNetwork(deps), route.srcChainId);
    let fee;
    let breakdown;
    let pathway;
    let extraOptions: Hex;
    try {
      pathway = await readSendPathway(client, { endpoint: srcChain.endpoint, oapp: checked.src.address, dstEid: checked.dstEid });
      extraOptions = sendOptionsFor(pathway, deps.bridge.defaultLzReceiveGas);
      [fee, breakdown] = await Promise.all([
        quoteSend(client, checked.src, { tokenId: route.tokenId, dstEid: checked.dstEid, to: to ?? checked.holder, extraOptions }),
        quoteBreakdown(client, { pathway, oapp: checked.src.address, options: combineOptions(pathway.enforcedOptions, extraOptions) }),
      ]);
    } catch (error) {
      pathwayFailure(error, route.srcChainId);
    }
    quote = {
      nativeFee: fee.nativeFee.toString(),
      lzTokenFee: fee.lzTokenFee.toString(),
      expiresAt: new Date(Date.now() + ttl * 1000).toISOString(),
      extraOptions,
      options: { enforced: describeOptions(pathway.enforcedOptions), sent: describeOptions(extraOptions) },
      breakdown: {
        executor: { address: breakdown.executor.address, fee: breakdown.executor.fee.toString() },
        dvns: breakdown.dvns.map((d) => ({ address: d.address, required: d.required, fee: d.fee.toString() })),
        treasury: { address: breakdown.treasury.address, fee: breakdown.treasury.fee.toString() },
        total: breakdown.total.toString(),
        matchesQuote: breakdown.total === fee.nativeFee,
      },
      confirmations: Number(pathway.uln.confirmations),
    };
    await deps.kv.set(key, JSON.stringify(quote), ttl * 1000).catch(() => {});
  }
  return {
    ...quote,
    symbol: nativeSymbol(route.srcChainId),
    srcChainId: route.srcChainId,
    dstChainId: route.dstChainId,
    dstEid: checked.dstEid,
    holder: checked.holder,
    checked,
  };
}

/** Builds the unsigned send (and approval when an adapter needs one) and records a PREPARED operation. */
export async function prepare(deps: RequestDeps, sender: Address, route: Route, recipient: Address) {
  const quote = await estimate(deps, route, recipient);
  const { src } = quote.checked;
  if (quote.holder !== sender) throw forbidden("NOT_TOKEN_OWNER", `token ${route.tokenId} on chain ${route.srcChainId} is not owned by ${sender}`);
  const nativeFee = BigInt(quote.nativeFee);
  // The endpoint refunds what the message does not use to the refund address (the sender).
  const value = nativeFee + (nativeFee * BigInt(deps.bridge.feeMarginBps)) / 10_000n;
  const tx = buildSendTransaction({
    deployment: src,
    tokenId: route.tokenId,
    dstEid: quote.dstEid,
    to: recipient,
    extraOptions: quote.extraOptions,
    fee: { nativeFee: value, lzTokenFee: 0n },
    refundAddress: sender,
  });
  let approval: { to: Address; data: Hex; value: string; chainId: number } | null = null;
  try {
    if (await needsApproval(publicClientFor(deps, route.srcChainId), src, { tokenId: route.tokenId, holder: sender }))
      approval = {
        to: src.token,
        data: encodeFunctionData({ abi: LegacyERC721Abi, functionName: "approve", args: [src.address, route.tokenId] }),
        value: "0",
        chainId: route.srcChainId,
      };
  } catch (error) {
    rpcError(error, route.srcChainId);
  }
  const id = randomUUID();
  const [row] = await deps.store.db
    .insert(bridgeOperations)
    .values({
      id,
      address: sender,
      collection: route.collection,
      tokenId: route.tokenId.toString(),
      srcChainId: route.srcChainId,
      dstChainId: route.dstChainId,
      recipient,
      nativeFee: nativeFee.toString(),
      value: value.toString(),
      txTo: tx.to,
      txData: tx.data,
    })
    .returning();
  return {
    operationId: id,
    status: "PREPARED" as const,
    createdAt: row!.createdAt.toISOString(),
    fee: { nativeFee: quote.nativeFee, lzTokenFee: quote.lzTokenFee, symbol: quote.symbol, expiresAt: quote.expiresAt, breakdown: quote.breakdown },
    transaction: { to: getAddress(tx.to), data: tx.data, value: value.toString(), chainId: route.srcChainId },
    approval,
  };
}

export type Operation = typeof bridgeOperations.$inferSelect;

/**
 * The indexed send of a prepared operation: by its reported tx hash, else the first send of that
 * token by that holder on the source chain since the operation was prepared (and not already
 * claimed by another operation). The link is stored once found.
 */
export async function linkOperation(deps: RequestDeps, op: Operation): Promise<SendRow | undefined> {
  const db = deps.indexed?.db;
  if (!db) return undefined;
  let send: SendRow | undefined;
  if (op.txHash) send = await sendByTxHash(db, op.txHash);
  else if (!op.guid) {
    const claimed = await deps.store.db
      .select({ guid: bridgeOperations.guid })
      .from(bridgeOperations)
      .where(
        and(
          eq(bridgeOperations.collection, op.collection),
          eq(bridgeOperations.tokenId, op.tokenId),
          eq(bridgeOperations.srcChainId, op.srcChainId),
          isNotNull(bridgeOperations.guid),
        ),
      );
    send = await findSendFor(db, {
      collection: op.collection,
      tokenId: BigInt(op.tokenId),
      chainId: op.srcChainId,
      fromAddress: op.address,
      // Block timestamps and our clock may differ a little.
      sinceTimestamp: BigInt(Math.floor(op.createdAt.getTime() / 1000) - 120),
      excludeGuids: claimed.map((c) => c.guid!),
    });
  }
  if (send && (op.guid !== send.guid || op.txHash !== send.txHash)) {
    await deps.store.db.update(bridgeOperations).set({ guid: send.guid, txHash: send.txHash, updatedAt: new Date() }).where(eq(bridgeOperations.id, op.id));
    op.guid = send.guid;
    op.txHash = send.txHash;
  }
  return send;
}

/**
 * The client reports its transaction: read the receipt now, check it is this operation's send
 * (same contract, sender and token) and take its guid, before the indexer catches up.
 */
export async function reportTransaction(deps: RequestDeps, op: Operation, txHash: Hex): Promise<Operation> {
  let receipt;
  try {
    receipt = await publicClientFor(deps, op.srcChainId).getTransactionReceipt({ hash: txHash });
  } catch (error) {
    if (error instanceof TransactionReceiptNotFoundError) throw unprocessable("TX_NOT_FOUND", `no mined transaction ${txHash} on chain ${op.srcChainId}`);
    rpcError(error, op.srcChainId);
  }
  const sent = parseEventLogs({ abi: CosmicONFT721AdapterAbi, eventName: "ONFTSent", logs: receipt.logs }).find(
    (l) => getAddress(l.address) === getAddress(op.txTo) && l.args.tokenId === BigInt(op.tokenId) && getAddress(l.args.fromAddress) === getAddress(op.address),
  );
  if (!sent) throw unprocessable("TX_MISMATCH", "that transaction is not this operation's send (contract, sender or token differ)");
  const [row] = await deps.store.db
    .update(bridgeOperations)
    .set({ txHash: receipt.transactionHash, guid: sent.args.guid, updatedAt: new Date() })
    .where(eq(bridgeOperations.id, op.id))
    .returning();
  return row!;
}
