/**
 * POST /nfts: server-side mints through the chain's signer. Token ids are
 * `tokenIdInRange(eid, serial)` with serials reserved from `offchain.nft_serials` (an atomic
 * UPDATE ... RETURNING, so concurrent requests and replicas never pick the same id); an id taken
 * meanwhile by another minter (TokenAlreadyIssued in simulation) just reserves the next block.
 * `Idempotency-Key` (per principal) stores the request and its result: a retry returns the first
 * result and never mints twice; the same key with a different body is refused.
 */
import { createHash, randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { type Address, getAddress } from "viem";
import { MintRejectedError, mintTokens } from "../../chain/minter.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { nftMints, nftSerials } from "../../offchain/tables/nfts.js";
import { chainById, deploymentOn, requireNetwork } from "../chains/clients.js";
import type { Principal, RequestDeps } from "../http/context.js";
import { ApiError, conflict, dependencyDown, unprocessable } from "../http/errors.js";
import { maxTokenIdInRange } from "../indexed/tokens.js";
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

const principalKey = (p: Principal) => (p.kind === "user" ? p.address : `apiKey:${p.apiKeyId}`);

async function reserveSerials(deps: RequestDeps, chainId: number, contract: Address, eid: number, count: number): Promise<bigint> {
  const rangeStart = tokenIdInRange(eid, 0n);
  // First use on this contract: start after the highest id already indexed in the chain's range.
  const [existing] = await deps.store.db.select().from(nftSerials).where(and(eq(nftSerials.chainId, chainId), eq(nftSerials.contract, contract)));
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

export async function mint(deps: RequestDeps, principal: Principal, request: MintRequest, idempotencyKey: string | undefined): Promise<{ result: MintResponse; replayed: boolean }> {
  const network = requireNetwork(deps);
  const chain = chainById(network, request.chainId);
  const deployment = deploymentOn(network, request.collection, chain.chainId);
  if (!deployment) throw unprocessable("NOT_DEPLOYED", `collection ${request.collection} is not deployed on chain ${chain.chainId}`);
  if (deployment.kind !== "onft") throw unprocessable("NOT_MINTABLE", `collection ${request.collection} is an adapted ERC-721 on chain ${chain.chainId}: mint on the original contract`);
  const signer = deps.signers?.get(chain.chainId);
  if (!signer) throw dependencyDown("MINTER_UNAVAILABLE", "no minter key is configured for this chain");
  const recipients = request.recipients.map((r) => getAddress(r));
  const contract = getAddress(deployment.address);
  const requestHash = createHash("sha256").update(JSON.stringify([request.collection, chain.chainId, recipients])).digest("hex");
  const who = principalKey(principal);

  const id = randomUUID();
  const [created] = await deps.store.db
    .insert(nftMints)
    .values({ id, principal: who, idempotencyKey: idempotencyKey ?? null, requestHash, chainId: chain.chainId, collection: request.collection, contract, recipients, status: "pending" })
    .onConflictDoNothing()
    .returning();
  if (!created) {
    const [previous] = await deps.store.db.select().from(nftMints).where(and(eq(nftMints.principal, who), eq(nftMints.idempotencyKey, idempotencyKey!)));
    if (!previous) throw conflict("MINT_IN_PROGRESS", "a request with this Idempotency-Key is being processed, retry shortly");
    if (previous.requestHash !== requestHash) throw unprocessable("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request");
    if (previous.status !== "confirmed") throw conflict("MINT_IN_PROGRESS", "a request with this Idempotency-Key is being processed, retry shortly");
    return { result: toResponse(previous), replayed: true };
  }

  try {
    let minted;
    for (let attempt = 0; ; attempt++) {
      const first = await reserveSerials(deps, chain.chainId, contract, chain.eid, recipients.length);
      const tokenIds = recipients.map((_, i) => tokenIdInRange(chain.eid, first + BigInt(i)));
      try {
        minted = await mintTokens(signer, { contract, recipients, tokenIds });
        break;
      } catch (error) {
        // Someone else (another minter key, a distribution) took an id of this block: skip past it.
        if (error instanceof MintRejectedError && error.reason === "TokenAlreadyIssued" && attempt < 4) continue;
        throw error;
      }
    }
    const [row] = await deps.store.db
      .update(nftMints)
      .set({ status: "confirmed", txHash: minted.txHash, blockNumber: minted.blockNumber, tokenIds: minted.tokenIds.map(String), updatedAt: new Date() })
      .where(eq(nftMints.id, id))
      .returning();
    deps.logger.info({ mintId: id, chainId: chain.chainId, collection: request.collection, count: recipients.length, txHash: minted.txHash }, "minted");
    return { result: toResponse(row!), replayed: false };
  } catch (error) {
    // Nothing was minted (simulation refused or the tx reverted / was never sent): free the key for a retry.
    await deps.store.db.delete(nftMints).where(eq(nftMints.id, id)).catch(() => {});
    if (error instanceof MintRejectedError) {
      if (error.reason === "NotMinter") throw dependencyDown("MINTER_NOT_AUTHORIZED", "the server's key is not a minter of this collection");
      throw unprocessable("MINT_REJECTED", `the contract refused the mint: ${error.reason}`);
    }
    if (error instanceof ApiError) throw error;
    if (error instanceof Error && /HTTP request failed|fetch failed|ECONNREFUSED|timed out/i.test(error.message))
      throw dependencyDown("CHAIN_UNAVAILABLE", `chain ${chain.chainId} RPC is unavailable`);
    throw error;
  }
}
