/**
 * POST /nfts: server-side mints through the chain's signer. Token ids are
 * `tokenIdInRange(eid, serial)` with serials reserved from `offchain.nft_serials` (an atomic
 * UPDATE ... RETURNING, so concurrent requests and replicas never pick the same id); an id taken
 * meanwhile by another minter (TokenAlreadyIssued in simulation) just reserves the next block.
 * `Idempotency-Key` (per principal) stores the request and its result: a retry returns the first
 * result and never mints twice; the same key with a different body is refused.
 *
 * Unknown outcomes: once a transaction may have been sent (the receipt was lost, the RPC died while
 * waiting, the process was killed), nothing proves it was not mined, so the row is kept as
 * `unconfirmed` with its token ids, never deleted. A retry with the same key resolves it from the
 * chain instead of minting new ids: the contract's `issued` registry says whether those ids exist;
 * if they do, the Transfer logs give the transaction; if not, the same ids are sent again — and the
 * contract refuses a second issue of an id, so at most one of the two transactions mints.
 */
import { createHash, randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { type Address, type Hash, getAddress, parseEventLogs, zeroAddress } from "viem";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { MintRejectedError, mintTokens } from "../../chain/minter.js";
import { type ChainSigner, TransactionRevertedError } from "../../chain/signer.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { nftMints, nftSerials } from "../../offchain/tables/nfts.js";
import { chainById, deploymentOn, requireNetwork } from "../chains/clients.js";
import type { ServiceDeps } from "../deps.js";
import type { Principal } from "../auth/principal.js";
import { ServiceError, conflict, dependencyDown, unprocessable } from "../../infra/errors.js";
import { maxTokenIdInRange } from "../../read/tokens.js";
import { formatNftId } from "./ids.js";

export type MintRequest = { collection: string; chainId: number; recipients: string[] };

export type MintResponse = {
  mintId: string;
  collection: string;
  chainId: number;
  contract: Address;
  txHash: string;
  blockNumber: number;
  tokens: { id: string; tokenId: string; to: Address }[];
};

export const principalKey = (p: Principal) => (p.kind === "user" ? p.address : `apiKey:${p.apiKeyId}`);

async function reserveSerials(deps: ServiceDeps, chainId: number, contract: Address, eid: number, count: number): Promise<bigint> {
  const rangeStart = tokenIdInRange(eid, 0n);
  // First use on this contract: start after the highest id already indexed in the chain's range.
  const [existing] = await deps.store.db
    .select()
    .from(nftSerials)
    .where(and(eq(nftSerials.chainId, chainId), eq(nftSerials.contract, contract)));
  if (!existing) {
    const max = deps.indexed ? await maxTokenIdInRange(deps.indexed.db, chainId, contract, rangeStart, tokenIdInRange(eid + 1, 0n)) : undefined;
    const start = max === undefined ? 1n : max - rangeStart + 1n;
    await deps.store.db.insert(nftSerials).values({ chainId, contract, nextSerial: start }).onConflictDoNothing();
  }
  const [row] = await deps.store.db
    .update(nftSerials)
    .set({ nextSerial: sql`${nftSerials.nextSerial} + ${count}` })
    .where(and(eq(nftSerials.chainId, chainId), eq(nftSerials.contract, contract)))
    .returning({ next: nftSerials.nextSerial });
  return BigInt(row!.next) - BigInt(count);
}

function toResponse(row: typeof nftMints.$inferSelect): MintResponse {
  return {
    mintId: row.id,
    collection: row.collection,
    chainId: row.chainId,
    contract: getAddress(row.contract),
    txHash: row.txHash!,
    blockNumber: Number(row.blockNumber),
    tokens: (row.tokenIds ?? []).map((id, i) => ({ id: formatNftId(row.collection, BigInt(id)), tokenId: id, to: getAddress(row.recipients[i]!) })),
  };
}

type MintRow = typeof nftMints.$inferSelect;

/** A `pending` row older than this was left by a process that died mid-mint: resolve it like `unconfirmed`. */
const ABANDONED_PENDING_MS = 120_000;

const isConnectionError = (error: unknown) =>
  error instanceof Error && /HTTP request failed|fetch failed|ECONNREFUSED|ECONNRESET|socket hang up|timed out/i.test(error.message);

/** Hash of a sent transaction carried by a signer error (stuck, timeout), when there is one. */
const sentHash = (error: unknown): Hash | undefined => {
  const tx = (error as { transaction?: { hash?: Hash } } | undefined)?.transaction;
  return tx?.hash;
};

/**
 * What a mint request resolves to before anything is stored (unknown chain, collection not deployed
 * or not mintable, no minter key: 4xx/503 at once, in the synchronous and the asynchronous mode alike).
 */
export function prepareMint(deps: ServiceDeps, request: MintRequest) {
  const network = requireNetwork(deps);
  const chain = chainById(network, request.chainId);
  const deployment = deploymentOn(network, request.collection, chain.chainId);
  if (!deployment) throw unprocessable("NOT_DEPLOYED", `collection ${request.collection} is not deployed on chain ${chain.chainId}`);
  if (deployment.kind !== "onft")
    throw unprocessable("NOT_MINTABLE", `collection ${request.collection} is an adapted ERC-721 on chain ${chain.chainId}: mint on the original contract`);
  const signer = deps.signers?.get(chain.chainId);
  if (!signer) throw dependencyDown("MINTER_UNAVAILABLE", "no minter key is configured for this chain");
  const recipients = request.recipients.map((r) => getAddress(r));
  const contract = getAddress(deployment.address);
  const requestHash = createHash("sha256")
    .update(JSON.stringify([request.collection, chain.chainId, recipients]))
    .digest("hex");
  return { chain, signer, recipients, contract, requestHash };
}

export type MintHooks = {
  /** The mint transaction was sent (its receipt not yet seen): the hash and the ids it mints. */
  onSent?: (sent: { txHash: Hash; tokenIds: bigint[] }) => unknown;
  /**
   * Age after which a `pending` row of this key is taken over as abandoned (default 2 min). A job's
   * later attempt passes 0: its earlier attempt, the only other user of the key, is dead (the queue
   * runs one attempt at a time). Even if it were not (a synchronous request with the same key), the
   * row is taken over only once its ids are recorded, and re-sending the same ids mints them once.
   */
  abandonedAfterMs?: number;
};

export async function mint(
  deps: ServiceDeps,
  principal: Principal,
  request: MintRequest,
  idempotencyKey: string | undefined,
  hooks: MintHooks = {},
): Promise<{ result: MintResponse; replayed: boolean }> {
  const { chain, signer, recipients, contract, requestHash } = prepareMint(deps, request);
  const who = principalKey(principal);
  const target = { chainId: chain.chainId, eid: chain.eid, contract, recipients, signer, hooks };

  const id = randomUUID();
  const [created] = await deps.store.db
    .insert(nftMints)
    .values({
      id,
      principal: who,
      idempotencyKey: idempotencyKey ?? null,
      requestHash,
      chainId: chain.chainId,
      collection: request.collection,
      contract,
      recipients,
      status: "pending",
    })
    .onConflictDoNothing()
    .returning();
  if (created) return { result: await mintRow(deps, created, target, undefined), replayed: false };

  const [previous] = await deps.store.db
    .select()
    .from(nftMints)
    .where(and(eq(nftMints.principal, who), eq(nftMints.idempotencyKey, idempotencyKey!)));
  if (!previous) throw conflict("MINT_IN_PROGRESS", "a request with this Idempotency-Key is being processed, retry shortly");
  if (previous.requestHash !== requestHash) throw unprocessable("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request");
  if (previous.status === "confirmed") return { result: toResponse(previous), replayed: true };
  const abandonedAfter = hooks.abandonedAfterMs ?? ABANDONED_PENDING_MS;
  // Taken over at once only with its ids recorded: then both send the same ids, and the contract
  // issues each once. Without them the other may be about to reserve and send: wait as usual.
  const abandoned =
    previous.status === "pending" && (abandonedAfter === 0 ? (previous.tokenIds?.length ?? 0) > 0 : Date.now() - previous.updatedAt.getTime() > abandonedAfter);
  if (previous.status !== "unconfirmed" && !abandoned)
    throw conflict("MINT_IN_PROGRESS", "a request with this Idempotency-Key is being processed, retry shortly");
  // Take the row over (one retry at a time), then settle it from the chain.
  const [claimed] = await deps.store.db
    .update(nftMints)
    .set({ status: "pending", updatedAt: new Date() })
    .where(and(eq(nftMints.id, previous.id), eq(nftMints.status, previous.status), eq(nftMints.updatedAt, previous.updatedAt)))
    .returning();
  if (!claimed) throw conflict("MINT_IN_PROGRESS", "a request with this Idempotency-Key is being processed, retry shortly");
  return {
    result: await mintRow(
      deps,
      claimed,
      target,
      claimed.tokenIds?.map((t) => BigInt(t)),
    ),
    replayed: true,
  };
}

type MintTarget = { chainId: number; eid: number; contract: Address; recipients: Address[]; signer: ChainSigner; hooks: MintHooks };

/**
 * Mints for `row` (status pending, owned by this call). `previousIds`: ids an earlier attempt of this
 * row may have sent — settled from the chain first, and re-sent as they are if they were not minted.
 */
async function mintRow(deps: ServiceDeps, row: MintRow, target: MintTarget, previousIds: bigint[] | undefined): Promise<MintResponse> {
  const { signer, contract, recipients } = target;
  let ids = previousIds;
  try {
    if (ids) {
      const found = await findMint(signer, contract, ids, recipients, row.blockNumber ?? 0n);
      if (found) return await confirmRow(deps, row, found);
      if (found === null) ids = undefined; // someone else holds these ids: take new ones
    }
    const searchFrom = await signer.publicClient.getBlockNumber();
    for (let attempt = 0; ; attempt++) {
      if (!ids) {
        const first = await reserveSerials(deps, target.chainId, contract, target.eid, recipients.length);
        ids = recipients.map((_, i) => tokenIdInRange(target.eid, first + BigInt(i)));
      }
      // Recorded before sending: a retry after an unknown outcome looks for exactly these ids.
      await deps.store.db
        .update(nftMints)
        .set({ tokenIds: ids.map(String), blockNumber: searchFrom, updatedAt: new Date() })
        .where(eq(nftMints.id, row.id));
      try {
        const sending = ids;
        const minted = await mintTokens(signer, {
          contract,
          recipients,
          tokenIds: ids,
          onSent: (txHash) => target.hooks.onSent?.({ txHash, tokenIds: sending }),
        });
        return await confirmRow(deps, row, { txHash: minted.txHash, blockNumber: minted.blockNumber, tokenIds: minted.tokenIds });
      } catch (error) {
        const taken = (error instanceof MintRejectedError && error.reason === "TokenAlreadyIssued") || error instanceof TransactionRevertedError;
        if (!taken || attempt >= 4) throw error;
        // Ours after all (an earlier send of this row was mined meanwhile)? Otherwise another minter
        // (another key, a distribution) took an id of this block: skip past it.
        const found = await findMint(signer, contract, ids, recipients, previousIds ? (row.blockNumber ?? 0n) : searchFrom);
        if (found) return await confirmRow(deps, row, found);
        if (error instanceof TransactionRevertedError) throw error;
        ids = undefined;
      }
    }
  } catch (error) {
    throw await settleFailure(deps, row, error, target.chainId);
  }
}

/**
 * Where `ids` were minted, if they were: the mint transaction when it minted them to `recipients`
 * (ours), `null` when they exist but are not ours, `undefined` when none is issued yet.
 */
async function findMint(signer: ChainSigner, contract: Address, ids: bigint[], recipients: Address[], fromBlock: bigint) {
  const issued = await signer.publicClient.readContract({ address: contract, abi: CosmicONFT721Abi, functionName: "issued", args: [ids[0]!] });
  if (!issued) return undefined;
  const [log] = await signer.publicClient.getContractEvents({
    address: contract,
    abi: CosmicONFT721Abi,
    eventName: "Transfer",
    args: { from: zeroAddress, tokenId: ids[0]! },
    fromBlock,
  });
  if (!log) return null;
  // One transaction minted the whole batch, in order, or it was not ours.
  const receipt = await signer.publicClient.getTransactionReceipt({ hash: log.transactionHash });
  const minted = parseEventLogs({ abi: CosmicONFT721Abi, eventName: "Transfer", logs: receipt.logs }).filter(
    (l) => getAddress(l.address) === contract && l.args.from === zeroAddress,
  );
  const mine = ids.every((tokenId, i) => minted.some((l) => l.args.tokenId === tokenId && getAddress(l.args.to) === recipients[i]));
  return mine ? { txHash: log.transactionHash, blockNumber: log.blockNumber, tokenIds: ids } : null;
}

async function confirmRow(deps: ServiceDeps, row: MintRow, minted: { txHash: Hash; blockNumber: bigint; tokenIds: bigint[] }): Promise<MintResponse> {
  const [confirmed] = await deps.store.db
    .update(nftMints)
    .set({ status: "confirmed", txHash: minted.txHash, blockNumber: minted.blockNumber, tokenIds: minted.tokenIds.map(String), updatedAt: new Date() })
    .where(eq(nftMints.id, row.id))
    .returning();
  deps.logger.info({ mintId: row.id, chainId: row.chainId, collection: row.collection, count: minted.tokenIds.length, txHash: minted.txHash }, "minted");
  return toResponse(confirmed!);
}

/** Records what a failure means for the row and returns the error to answer with. */
async function settleFailure(deps: ServiceDeps, row: MintRow, error: unknown, chainId: number): Promise<unknown> {
  const nothingMinted = error instanceof MintRejectedError || error instanceof TransactionRevertedError || error instanceof ServiceError;
  if (nothingMinted) {
    // Refused before sending, or reverted on chain: free the key for a retry.
    await deps.store.db
      .delete(nftMints)
      .where(eq(nftMints.id, row.id))
      .catch(() => {});
  } else {
    // Maybe sent: keep the ids so a retry settles it from the chain instead of minting again.
    const txHash = sentHash(error);
    await deps.store.db
      .update(nftMints)
      .set({
        status: "unconfirmed",
        ...(txHash ? { txHash } : {}),
        error: error instanceof Error ? error.message.slice(0, 500) : String(error),
        updatedAt: new Date(),
      })
      .where(eq(nftMints.id, row.id))
      .catch(() => {});
  }
  if (error instanceof MintRejectedError) {
    if (error.reason === "NotMinter") return dependencyDown("MINTER_NOT_AUTHORIZED", "the server's key is not a minter of this collection", error);
    return unprocessable("MINT_REJECTED", `the contract refused the mint: ${error.reason}`);
  }
  if (error instanceof TransactionRevertedError) return unprocessable("MINT_REJECTED", "the mint transaction reverted");
  if (error instanceof ServiceError) return error;
  const retry = row.idempotencyKey ? "retry with the same Idempotency-Key: it settles this mint, never mints twice" : "send an Idempotency-Key to retry safely";
  if (isConnectionError(error)) return dependencyDown("CHAIN_UNAVAILABLE", `chain ${chainId} RPC is unavailable; ${retry}`, error);
  return dependencyDown("MINT_UNCONFIRMED", `the mint transaction was not confirmed; ${retry}`, error);
}
