/**
 * Collection:Transfer — ERC-721 transfers of the ONFTs and of the ERC-721s behind adapters (one
 * source: ponder.config.ts): the transfer row, the token's owner and state, the supply per chain and
 * the activity feed.
 */
import { type Context, type Event, ponder } from "ponder:registry";
import { activity, collectionDeployment, token, transfer } from "ponder:schema";
import { classifyTransfer, orderKey } from "../indexer/model.js";
import { lookup } from "./indexerSetup.js";

async function onTransfer(event: Event<"Collection:Transfer">, context: Context<"Collection:Transfer">) {
  const chainId = context.chain.id;
  const dep = lookup.token(chainId, event.log.address);
  if (!dep) return;
  const { from, to, tokenId } = event.args;
  const adapter = dep.kind === "adapter" ? dep.address : undefined;
  const { kind, state, supplyDelta: delta } = classifyTransfer(from, to, adapter);
  const key = orderKey(event.block.timestamp, chainId, event.block.number, event.log.logIndex);

  await context.db.insert(transfer).values({
    chainId,
    txHash: event.transaction.hash,
    logIndex: event.log.logIndex,
    blockNumber: event.block.number,
    timestamp: event.block.timestamp,
    collection: dep.slug,
    contract: dep.token,
    tokenId,
    from,
    to,
    kind,
    guid: null,
    orderKey: key,
  });
  await context.db
    .insert(token)
    .values({
      chainId,
      contract: dep.token,
      tokenId,
      collection: dep.slug,
      owner: to,
      state,
      lastSendGuid: null,
      lastReceiveGuid: null,
      mintedBlock: event.block.number,
      updatedBlock: event.block.number,
      updatedTimestamp: event.block.timestamp,
      updatedOrderKey: key,
      lastTxHash: event.transaction.hash,
      lastLogIndex: event.log.logIndex,
    })
    .onConflictDoUpdate({
      owner: to,
      state,
      updatedBlock: event.block.number,
      updatedTimestamp: event.block.timestamp,
      updatedOrderKey: key,
      lastTxHash: event.transaction.hash,
      lastLogIndex: event.log.logIndex,
    });

  if (delta !== 0 || kind === "mint") {
    await context.db
      .update(collectionDeployment, { chainId, address: dep.address })
      .set((row) => ({ supply: row.supply + delta, minted: row.minted + (kind === "mint" ? 1 : 0) }));
  }
  // Burns, locks and unlocks are parts of bridges: the bridge handlers replace them in the feed.
  await context.db.insert(activity).values({
    chainId,
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    orderKey: key,
    type: kind === "mint" ? "minted" : kind === "burn" ? "burned" : "transferred",
    collection: dep.slug,
    tokenId,
    from,
    to,
    guid: null,
    otherChainId: null,
    txHash: event.transaction.hash,
    timestamp: event.block.timestamp,
  });
}

ponder.on("Collection:Transfer", async ({ event, context }) => onTransfer(event, context));
