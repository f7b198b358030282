/**
 * distribute-nfts: mints the event's attendance NFT to every attendee not yet served, in batches,
 * through the contract's idempotent `distribute(to[], ids[])` (it skips ids already issued).
 *
 * Exactly once, even across a crash: ids are derived from (event, attendee) (domain/events/tokenIds.ts),
 * so resending a batch whose receipt was never recorded mints nothing twice; a batch is marked
 * `sending` before its transaction and `minted` after its receipt. For ids the chain had already
 * issued, the original mint transaction is found from its Transfer log.
 */
import { and, asc, eq, inArray, isNotNull, sql } from "drizzle-orm";
import { type Address, type Hash, type TransactionReceipt, getAbiItem, getAddress, parseEventLogs, zeroAddress } from "viem";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { findEvent } from "../domain/events/store.js";
import { eventTokenId } from "../domain/events/tokenIds.js";
import { eventParticipants } from "../offchain/tables/events.js";
import { type JobContext, PermanentJobError, type WorkerDeps } from "./types.js";

import { DISTRIBUTE_NFTS } from "./names.js";
export { DISTRIBUTE_NFTS };

export type DistributionResult = { eventId: string; attendees: number; mintedNow: number; alreadyIssued: number; batches: number; transactions: Hash[] };

export type DistributionHooks = {
  /** Called after a batch's transaction is confirmed, before it is recorded (tests kill the process here). */
  afterBatchConfirmed?: (batch: number, receipt: TransactionReceipt) => void | Promise<void>;
};

const TRANSFER = getAbiItem({ abi: CosmicONFT721Abi, name: "Transfer" });

export async function distributeNfts(
  deps: WorkerDeps,
  data: Record<string, unknown>,
  ctx: JobContext,
  hooks: DistributionHooks = {},
): Promise<DistributionResult> {
  const eventId = String(data.eventId ?? "");
  const db = deps.store.db;
  const event = await findEvent(db, eventId);
  if (!event) throw new PermanentJobError(`event ${eventId} not found`);
  const signer = deps.signers?.get(event.chainId);
  if (!signer) throw new PermanentJobError(`no server signer for chain ${event.chainId} (MINTER_PRIVATE_KEY / network)`);
  const contract = getAddress(event.contract);
  const startBlock = BigInt(deps.network?.deployments.find((d) => d.chainId === event.chainId && d.token === contract)?.startBlock ?? 0);
  const batchSize = Number(data.batchSize ?? deps.config.events.distributionBatchSize);

  const attendees = await db
    .select({ address: eventParticipants.address, status: eventParticipants.distributionStatus })
    .from(eventParticipants)
    .where(and(eq(eventParticipants.eventId, eventId), isNotNull(eventParticipants.attendedAt)))
    .orderBy(asc(eventParticipants.attendedAt), asc(eventParticipants.address));
  const todo = attendees.filter((a) => a.status !== "minted").map((a) => getAddress(a.address));
  const result: DistributionResult = { eventId, attendees: attendees.length, mintedNow: 0, alreadyIssued: 0, batches: 0, transactions: [] };
  let done = attendees.length - todo.length;
  await ctx.progress({ total: attendees.length, done, batchSize });

  for (let i = 0; i < todo.length; i += batchSize) {
    if (ctx.signal.aborted) throw new Error("distribution interrupted (shutdown); it resumes where it stopped");
    const batch = todo.slice(i, i + batchSize);
    const ids = batch.map((a) => eventTokenId(event.eid, eventId, a));
    const inBatch = and(eq(eventParticipants.eventId, eventId), inArray(eventParticipants.address, batch));
    // Ids are recorded before sending: a crash from here on leaves `sending` rows that the next run resends.
    await db.execute(sql`
      UPDATE offchain.event_participants AS p SET distribution_status = 'sending', token_id = v.token_id::numeric, distribution_error = NULL
      FROM unnest(ARRAY[${sql.join(
        batch.map((a) => sql`${a}`),
        sql`, `,
      )}]::text[], ARRAY[${sql.join(
        ids.map((id) => sql`${id.toString()}`),
        sql`, `,
      )}]::text[]) AS v(address, token_id)
      WHERE p.event_id = ${eventId}::uuid AND p.address = v.address AND p.distribution_status <> 'minted'`);
    let receipt: TransactionReceipt;
    try {
      receipt = await signer.write({
        label: `distribute event ${eventId}`,
        address: contract,
        abi: CosmicONFT721Abi,
        functionName: "distribute",
        args: [batch, ids],
      });
    } catch (error) {
      const message = (error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : String(error)).slice(0, 500);
      await db.update(eventParticipants).set({ distributionStatus: "failed", distributionError: message }).where(inBatch);
      throw error;
    }
    await hooks.afterBatchConfirmed?.(result.batches, receipt);
    result.batches++;
    result.transactions.push(receipt.transactionHash);

    // Which ids this transaction minted; the others were issued earlier (a run that crashed after sending).
    const minted = new Map<bigint, { to: Address; tx: Hash }>();
    for (const log of parseEventLogs({ abi: [TRANSFER], logs: receipt.logs, eventName: "Transfer" }))
      if (getAddress(log.address) === contract && log.args.from === zeroAddress) minted.set(log.args.tokenId, { to: log.args.to, tx: receipt.transactionHash });
    const earlier = ids.filter((id) => !minted.has(id));
    if (earlier.length > 0) {
      const logs = await signer.publicClient.getLogs({
        address: contract,
        event: TRANSFER,
        args: { from: zeroAddress, tokenId: earlier },
        fromBlock: startBlock,
        toBlock: receipt.blockNumber,
      });
      for (const log of logs) if (log.args.tokenId !== undefined && log.args.to) minted.set(log.args.tokenId, { to: log.args.to, tx: log.transactionHash });
      result.alreadyIssued += earlier.length;
    }
    result.mintedNow += ids.length - earlier.length;

    const now = new Date();
    const byTx = new Map<Hash, Address[]>();
    for (const [k, address] of batch.entries()) {
      const mint = minted.get(ids[k]!);
      if (mint && getAddress(mint.to) === address) byTx.set(mint.tx, [...(byTx.get(mint.tx) ?? []), address]);
      else
        await db
          .update(eventParticipants)
          .set({ distributionStatus: "failed", distributionError: mint ? `token id already owned by ${mint.to}` : "token not found on chain after distribute" })
          .where(and(eq(eventParticipants.eventId, eventId), eq(eventParticipants.address, address)));
    }
    for (const [tx, addresses] of byTx)
      await db
        .update(eventParticipants)
        .set({ distributionStatus: "minted", txHash: tx, mintedAt: now, distributionError: null })
        .where(and(eq(eventParticipants.eventId, eventId), inArray(eventParticipants.address, addresses)));
    done += batch.length;
    await ctx.progress({ total: attendees.length, done, batchSize, batches: result.batches });
  }
  ctx.log.info({ ...result, transactions: result.transactions.length }, "distribution finished");
  return result;
}
