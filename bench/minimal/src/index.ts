// @ts-nocheck — typed against bench/minimal/ponder.config.ts at runtime by Ponder, not by the root tsconfig.
import { ponder } from "ponder:registry";
import { transfer } from "ponder:schema";

ponder.on("ERC721:Transfer", async ({ event, context }) => {
  await context.db.insert(transfer).values({
    chainId: context.chain.id,
    txHash: event.transaction.hash,
    logIndex: event.log.logIndex,
    contract: event.log.address,
    tokenId: event.args.tokenId,
    from: event.args.from,
    to: event.args.to,
    blockNumber: event.block.number,
  });
});
