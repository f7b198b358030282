/**
 * ERC-4906 Collection:MetadataUpdate and Collection:BatchMetadataUpdate: the log is recorded as a
 * token id range; re-resolving the metadata happens off-chain (jobs/metadataFollower.ts).
 */
import { type Context, type Event, ponder } from "ponder:registry";
import { metadataUpdate } from "ponder:schema";
import { lookup } from "./indexerSetup.js";

type MetadataEvent = "Collection:MetadataUpdate" | "Collection:BatchMetadataUpdate";

async function onMetadataUpdate(event: Event<MetadataEvent>, context: Context<MetadataEvent>, range: { from: bigint; to: bigint }) {
  const chainId = context.chain.id;
  const dep = lookup.token(chainId, event.log.address);
  if (!dep) return;
  await context.db.insert(metadataUpdate).values({
    chainId,
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    contract: dep.token,
    collection: dep.slug,
    fromTokenId: range.from,
    toTokenId: range.to,
    txHash: event.transaction.hash,
    timestamp: event.block.timestamp,
  });
}

ponder.on("Collection:MetadataUpdate", async ({ event, context }) => {
  await onMetadataUpdate(event, context, { from: event.args._tokenId, to: event.args._tokenId });
});

ponder.on("Collection:BatchMetadataUpdate", async ({ event, context }) => {
  await onMetadataUpdate(event, context, { from: event.args._fromTokenId, to: event.args._toTokenId });
});
