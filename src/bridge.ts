/**
 * The two halves of a bridge, each written by the chain whose events it reads:
 * - source: Collection:ONFTSent → a `bridge_send` row (with the packet: guid, nonce, recipient),
 *   the debit (burn or lock) relabelled as `bridge_out`, the token's state and the feed;
 * - destination: Collection:ONFTReceived (delivered) and EndpointV2:LzReceiveAlert (a failed
 *   delivery) → the `bridge_receive` row, the credit (mint or unlock) relabelled as `bridge_in`.
 */
import { type Context, type Event, ponder } from "ponder:registry";
import { activity, bridgeReceive, bridgeSend, collectionDeployment, peer, token, transfer } from "ponder:schema";
import { type Address, type Hex, decodeEventLog, getAbiItem, toEventSelector, zeroAddress } from "viem";
import { EndpointV2Abi } from "../abis/EndpointV2Abi.js";
import { decodeOnftMessage } from "../chain/layerzero/lzPacket.js";
import type { IndexerDeployment } from "../indexer/setup.js";
import { describeRevert, orderKey, type PacketFacts, packetFacts, packetFromCalldata, sameAddress } from "../indexer/model.js";
import { chainOf, lookup } from "./indexerSetup.js";

const PACKET_SENT = getAbiItem({ abi: EndpointV2Abi, name: "PacketSent" });
const PACKET_SENT_TOPIC = toEventSelector(PACKET_SENT);

// ---------------------------------------------------------------- source half
async function onSent(event: Event<"Collection:ONFTSent">, context: Context<"Collection:ONFTSent">) {
  const chainId = context.chain.id;
  const chain = chainOf(chainId);
  const dep = lookup.oapp(chainId, event.log.address);
  if (!dep) return;
  const { guid, dstEid, fromAddress, tokenId } = event.args;

  // Our PacketSent is in the same transaction (the endpoint emits it before our ONFTSent). Endpoint
  // events carry no indexed field, so they cannot be filtered by our address. Without an RPC call:
  // when the transaction is a direct send() to this OApp without a compose message, the packet is
  // the calldata's recipient and token id, the path's peer, and the path's next nonce — accepted only
  // if they hash to the event's guid. Otherwise (first send on a path after a peer change, a send
  // through another contract, a compose message) it is read from the receipt (cached by Ponder).
  const pathPk = { chainId, oapp: event.log.address, eid: dstEid };
  const path = await context.db.find(peer, pathPk);
  let packet: PacketFacts | undefined = packetFromCalldata(event, chain.eid, path);
  if (!packet) {
    const receipt = await context.client.getTransactionReceipt({ hash: event.transaction.hash });
    for (const log of receipt.logs) {
      if (!sameAddress(log.address, chain.endpoint) || log.topics[0] !== PACKET_SENT_TOPIC) continue;
      const { args } = decodeEventLog({ abi: [PACKET_SENT], data: log.data, topics: log.topics as [Hex, ...Hex[]] });
      const facts = packetFacts(args.encodedPayload);
      if (facts.guid === guid) packet = facts;
    }
  }
  if (path && packet && sameAddress(path.peer, packet.receiver)) await context.db.update(peer, pathPk).set({ outboundNonce: packet.nonce });
  const key = orderKey(event.block.timestamp, chainId, event.block.number, event.log.logIndex);
  const dstChainId = lookup.chainByEid(dstEid)?.chainId ?? null;
  const recipient = packet?.recipient ?? zeroAddress;

  await context.db.insert(bridgeSend).values({
    guid,
    chainId,
    collection: dep.slug,
    srcEid: chain.eid,
    dstEid,
    dstChainId,
    nonce: packet?.nonce ?? 0n,
    oapp: dep.address,
    dstOapp: packet ? (`0x${packet.receiver.slice(26)}` as Address) : zeroAddress,
    fromAddress,
    recipient,
    tokenId,
    message: packet?.message ?? "0x",
    txHash: event.transaction.hash,
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    timestamp: event.block.timestamp,
    orderKey: key,
  });

  // The debit (burn on an ONFT, lock into an adapter) is the token's last Transfer, in this transaction.
  const tokenPk = { chainId, contract: dep.token, tokenId };
  const row = await context.db.find(token, tokenPk);
  if (row) {
    if (row.lastTxHash === event.transaction.hash && row.lastLogIndex < event.log.logIndex) {
      const pk = { chainId, txHash: event.transaction.hash, logIndex: row.lastLogIndex };
      if (await context.db.find(transfer, pk)) await context.db.update(transfer, pk).set({ kind: "bridge_out", guid });
      const activityPk = { chainId, blockNumber: event.block.number, logIndex: row.lastLogIndex };
      if (await context.db.find(activity, activityPk)) await context.db.delete(activity, activityPk);
    }
    await context.db.update(token, tokenPk).set({ state: dep.kind === "onft" ? "bridged_out" : "locked", lastSendGuid: guid });
  }
  await context.db.update(collectionDeployment, { chainId, address: dep.address }).set((r) => ({ bridgedOut: r.bridgedOut + 1 }));
  await context.db.insert(activity).values({
    chainId,
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    orderKey: key,
    type: "bridge_sent",
    collection: dep.slug,
    tokenId,
    from: fromAddress,
    to: recipient,
    guid,
    otherChainId: dstChainId,
    txHash: event.transaction.hash,
    timestamp: event.block.timestamp,
  });
}

ponder.on("Collection:ONFTSent", async ({ event, context }) => onSent(event, context));

// ---------------------------------------------------------------- destination half
type ReceiveFacts = Partial<typeof bridgeReceive.$inferInsert>;
type ReceiveContext = Context<"Collection:ONFTReceived"> | Context<"EndpointV2:LzReceiveAlert">;

async function upsertReceive(context: ReceiveContext, dep: IndexerDeployment, guid: Hex, srcEid: number, key: string, facts: ReceiveFacts) {
  const chainId = context.chain.id;
  const existing = await context.db.find(bridgeReceive, { guid, chainId });
  const merged = { ...(existing ?? {}), ...Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined)) } as typeof bridgeReceive.$inferSelect;
  // Delivery is final; a failure only counts while the packet is still undelivered. (Verification and
  // the DVNs' progress cannot be indexed by our address: the API reads them from the chains.)
  const status = merged.deliveredTxHash ? "DELIVERED" : "FAILED";
  if (existing) {
    await context.db.update(bridgeReceive, { guid, chainId }).set({ ...facts, status });
  } else {
    await context.db.insert(bridgeReceive).values({
      guid,
      chainId,
      collection: dep.slug,
      srcEid,
      dstEid: chainOf(chainId).eid,
      srcChainId: lookup.chainByEid(srcEid)?.chainId ?? null,
      nonce: null,
      oapp: dep.address,
      srcOapp: null,
      recipient: null,
      tokenId: null,
      failureCount: 0,
      orderKey: key,
      ...facts,
      status,
    });
  }
}

async function onReceived(event: Event<"Collection:ONFTReceived">, context: Context<"Collection:ONFTReceived">) {
  const chainId = context.chain.id;
  const dep = lookup.oapp(chainId, event.log.address);
  if (!dep) return;
  const { guid, srcEid, toAddress, tokenId } = event.args;
  const key = orderKey(event.block.timestamp, chainId, event.block.number, event.log.logIndex);
  await upsertReceive(context, dep, guid, srcEid, key, {
    recipient: toAddress,
    tokenId,
    deliveredTxHash: event.transaction.hash,
    deliveredBlock: event.block.number,
    deliveredTimestamp: event.block.timestamp,
  });
  // The credit (mint on an ONFT, unlock from an adapter) is the token's last Transfer, in this transaction.
  const tokenPk = { chainId, contract: dep.token, tokenId };
  const row = await context.db.find(token, tokenPk);
  if (row) {
    if (row.lastTxHash === event.transaction.hash && row.lastLogIndex < event.log.logIndex) {
      const pk = { chainId, txHash: event.transaction.hash, logIndex: row.lastLogIndex };
      const credit = await context.db.find(transfer, pk);
      if (credit) {
        await context.db.update(transfer, pk).set({ kind: "bridge_in", guid });
        if (credit.kind === "mint") await context.db.update(collectionDeployment, { chainId, address: dep.address }).set((r) => ({ minted: r.minted - 1 }));
      }
      const activityPk = { chainId, blockNumber: event.block.number, logIndex: row.lastLogIndex };
      if (await context.db.find(activity, activityPk)) await context.db.delete(activity, activityPk);
    }
    await context.db.update(token, tokenPk).set({ lastReceiveGuid: guid });
  }
  await context.db.update(collectionDeployment, { chainId, address: dep.address }).set((r) => ({ bridgedIn: r.bridgedIn + 1 }));
  await context.db.insert(activity).values({
    chainId,
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    orderKey: key,
    type: "bridge_delivered",
    collection: dep.slug,
    tokenId,
    from: null,
    to: toAddress,
    guid,
    otherChainId: lookup.chainByEid(srcEid)?.chainId ?? null,
    txHash: event.transaction.hash,
    timestamp: event.block.timestamp,
  });
}

ponder.on("Collection:ONFTReceived", async ({ event, context }) => onReceived(event, context));

ponder.on("EndpointV2:LzReceiveAlert", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { receiver, origin, guid, message, reason, gas } = event.args;
  const dep = lookup.oapp(chainId, receiver);
  if (!dep) return;
  let recipient: Address | undefined;
  let tokenId: bigint | undefined;
  try {
    ({ to: recipient, tokenId } = decodeOnftMessage(message));
  } catch {}
  const key = orderKey(event.block.timestamp, chainId, event.block.number, event.log.logIndex);
  const existing = await context.db.find(bridgeReceive, { guid, chainId });
  await upsertReceive(context, dep, guid, origin.srcEid, key, {
    nonce: origin.nonce,
    srcOapp: `0x${origin.sender.slice(26)}` as Address,
    recipient,
    tokenId,
    failedTxHash: event.transaction.hash,
    failedBlock: event.block.number,
    failedTimestamp: event.block.timestamp,
    failureReason: describeRevert(reason),
    failureReasonData: reason,
    failureGas: gas,
    failureCount: (existing?.failureCount ?? 0) + 1,
  });
  await context.db.insert(activity).values({
    chainId,
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    orderKey: key,
    type: "bridge_failed",
    collection: dep.slug,
    tokenId: tokenId ?? 0n,
    from: null,
    to: recipient ?? null,
    guid,
    otherChainId: lookup.chainByEid(origin.srcEid)?.chainId ?? null,
    txHash: event.transaction.hash,
    timestamp: event.block.timestamp,
  });
});
