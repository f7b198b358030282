/**
 * Configuration events of our OApps: Collection:OwnershipTransferred (the owner of every contract
 * of ours, and of the deployment row) and Collection:PeerSet (the paths: peer and outbound nonce,
 * which the bridge handlers use to rebuild a packet from calldata).
 */
import { type Context, type Event, ponder } from "ponder:registry";
import { collectionDeployment, contractOwner, peer } from "ponder:schema";
import { lookup } from "./indexerSetup.js";

async function onOwnership(event: Event<"Collection:OwnershipTransferred">, context: Context<"Collection:OwnershipTransferred">) {
  const chainId = context.chain.id;
  await context.db
    .insert(contractOwner)
    .values({ chainId, address: event.log.address, owner: event.args.newOwner, blockNumber: event.block.number })
    .onConflictDoUpdate({ owner: event.args.newOwner, blockNumber: event.block.number });
  const dep = lookup.oapp(chainId, event.log.address);
  if (dep && (await context.db.find(collectionDeployment, { chainId, address: dep.address })))
    await context.db.update(collectionDeployment, { chainId, address: dep.address }).set({ owner: event.args.newOwner });
}
ponder.on("Collection:OwnershipTransferred", async ({ event, context }) => onOwnership(event, context));

async function onPeerSet(event: Event<"Collection:PeerSet">, context: Context<"Collection:PeerSet">) {
  // A fresh path's outbound nonce is 0. A new peer is another path whose nonce is not known here
  // (it may have been used before): null until the next send reads it from its receipt.
  await context.db
    .insert(peer)
    .values({
      chainId: context.chain.id,
      oapp: event.log.address,
      eid: event.args.eid,
      peer: event.args.peer,
      blockNumber: event.block.number,
      outboundNonce: 0n,
    })
    .onConflictDoUpdate((row) => ({
      peer: event.args.peer,
      blockNumber: event.block.number,
      outboundNonce: row.peer.toLowerCase() === event.args.peer.toLowerCase() ? row.outboundNonce : null,
    }));
}
ponder.on("Collection:PeerSet", async ({ event, context }) => onPeerSet(event, context));
