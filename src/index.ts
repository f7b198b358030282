/**
 * Indexing functions. Pure functions of the event and the indexed state (no HTTP, clock or Redis),
 * so Ponder can revert and replay them on reorgs. Every row written here belongs to the chain of
 * the event (chain id in its primary key): bridges are joined by guid at read time.
 */
import { ponder } from "ponder:registry";
import { activity, bridgeReceive, bridgeSend, collection, collectionDeployment, contractOwner, metadataUpdate, peer, token, transfer } from "ponder:schema";
import {
  type Address,
  type Hex,
  concat,
  decodeEventLog,
  decodeFunctionData,
  getAbiItem,
  numberToHex,
  pad,
  toEventSelector,
  toFunctionSelector,
  zeroAddress,
} from "viem";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { EndpointV2Abi } from "../abis/EndpointV2Abi.js";
import { type IndexerDeployment, loadIndexerSetup, setupIndex } from "../indexer/setup.js";
import { computeGuid, decodeOnftMessage, decodePacket } from "../chain/layerzero/lzPacket.js";
import { describeRevert, orderKey } from "../indexer/model.js";

const setup = loadIndexerSetup();
const lookup = setupIndex(setup);

const PACKET_SENT = getAbiItem({ abi: EndpointV2Abi, name: "PacketSent" });
const PACKET_SENT_TOPIC = toEventSelector(PACKET_SENT);
const SEND_SELECTOR = toFunctionSelector(getAbiItem({ abi: CosmicONFT721Abi, name: "send" }));
const _TRANSFER_TOPIC = toEventSelector("event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)");

const same = (a: string | null | undefined, b: string | null | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

type Ctx = { chain: { id: number }; db: any };
type BlockInfo = { number: bigint; timestamp: bigint };

function chainOf(chainId: number) {
  const chain = lookup.chain(chainId);
  if (!chain) throw new Error(`chain ${chainId} is not in the indexer setup`);
  return chain;
}

// ---------------------------------------------------------------- setup: static rows of each chain
ponder.on("EndpointV2:setup", async ({ context }) => {
  const chainId = context.chain.id;
  for (const d of setup.deployments.filter((d) => d.chainId === chainId)) {
    await context.db
      .insert(collectionDeployment)
      .values({
        chainId,
        address: d.address,
        collection: d.slug,
        kind: d.kind,
        eid: d.eid,
        token: d.token,
        owner: null,
        supply: 0,
        minted: 0,
        bridgedOut: 0,
        bridgedIn: 0,
      })
      .onConflictDoNothing();
  }
  for (const c of setup.collections.filter((c) => c.deployments[0]?.chainId === chainId)) {
    await context.db.insert(collection).values({ slug: c.slug, name: c.name, symbol: c.symbol, homeChainId: chainId }).onConflictDoNothing();
  }
});

// ---------------------------------------------------------------- ERC-721 transfers
async function onTransfer(
  event: { args: { from: Address; to: Address; tokenId: bigint }; log: { address: Address; logIndex: number }; block: BlockInfo; transaction: { hash: Hex } },
  context: Ctx,
) {
  const chainId = context.chain.id;
  const dep = lookup.token(chainId, event.log.address);
  if (!dep) return;
  const { from, to, tokenId } = event.args;
  const adapter = dep.kind === "adapter" ? dep.address : undefined;
  const kind = from === zeroAddress ? "mint" : to === zeroAddress ? "burn" : same(to, adapter) ? "lock" : same(from, adapter) ? "unlock" : "transfer";
  const state = to === zeroAddress ? "burned" : same(to, adapter) ? "locked" : "present";
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

  const presentBefore = from !== zeroAddress && !same(from, adapter);
  const presentAfter = to !== zeroAddress && !same(to, adapter);
  const delta = Number(presentAfter) - Number(presentBefore);
  if (delta !== 0 || kind === "mint") {
    await context.db
      .update(collectionDeployment, { chainId, address: dep.address })
      .set((row: typeof collectionDeployment.$inferSelect) => ({ supply: row.supply + delta, minted: row.minted + (kind === "mint" ? 1 : 0) }));
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

// ONFTs and the ERC-721s behind adapters (one source: ponder.config.ts).
ponder.on("Collection:Transfer", async ({ event, context }) => onTransfer(event, context));

// ---------------------------------------------------------------- bridge: source half
type PacketFacts = { guid: Hex; nonce: bigint; sender: Hex; receiver: Hex; message: Hex; recipient: Address };

function packetFacts(encodedPayload: Hex): PacketFacts {
  const packet = decodePacket(encodedPayload);
  return {
    guid: packet.guid,
    nonce: packet.nonce,
    sender: packet.sender,
    receiver: packet.receiver,
    message: packet.message,
    recipient: decodeOnftMessage(packet.message).to,
  };
}

const SEND = getAbiItem({ abi: CosmicONFT721Abi, name: "send" });

/** The packet of a direct `send(sendParam, fee, refund)` to the emitting OApp, if its guid checks out (see onSent). */
function packetFromCalldata(
  event: { args: { guid: Hex; dstEid: number; tokenId: bigint }; log: { address: Address }; transaction: { to?: Address | null; input?: Hex } },
  srcEid: number,
  path: { peer: Hex; outboundNonce: bigint | null } | null,
): PacketFacts | undefined {
  const { to, input } = event.transaction;
  if (!path || path.outboundNonce === null || !input || !same(to, event.log.address) || input.slice(0, 10) !== SEND_SELECTOR) return undefined;
  try {
    const { args } = decodeFunctionData({ abi: [SEND], data: input });
    const sendParam = args[0];
    if (sendParam.composeMsg !== "0x" || sendParam.dstEid !== event.args.dstEid || sendParam.tokenId !== event.args.tokenId) return undefined;
    const nonce = path.outboundNonce + 1n;
    const sender = pad(event.log.address.toLowerCase() as Hex, { size: 32 });
    const receiver = path.peer.toLowerCase() as Hex;
    if (computeGuid({ nonce, srcEid, sender, dstEid: sendParam.dstEid, receiver }) !== event.args.guid.toLowerCase()) return undefined;
    // ONFT721MsgCodec.encode(sendTo, tokenId, "") = sendTo b32 | tokenId u256.
    const message = concat([sendParam.to, numberToHex(sendParam.tokenId, { size: 32 })]).toLowerCase() as Hex;
    return { guid: event.args.guid, nonce, sender, receiver, message, recipient: decodeOnftMessage(message).to };
  } catch {
    return undefined;
  }
}

async function onSent(
  event: {
    args: { guid: Hex; dstEid: number; fromAddress: Address; tokenId: bigint };
    log: { address: Address; logIndex: number };
    block: BlockInfo;
    transaction: { hash: Hex; to: Address | null; input: Hex };
  },
  context: Ctx & { client: { getTransactionReceipt(args: { hash: Hex }): Promise<{ logs: { address: Address; topics: Hex[]; data: Hex }[] }> } },
) {
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
  const path = (await context.db.find(peer, pathPk)) as typeof peer.$inferSelect | null;
  let packet: PacketFacts | undefined = packetFromCalldata(event, chain.eid, path);
  if (!packet) {
    const receipt = await context.client.getTransactionReceipt({ hash: event.transaction.hash });
    for (const log of receipt.logs) {
      if (!same(log.address, chain.endpoint) || log.topics[0] !== PACKET_SENT_TOPIC) continue;
      const { args } = decodeEventLog({ abi: [PACKET_SENT], data: log.data, topics: log.topics as [Hex, ...Hex[]] });
      const facts = packetFacts(args.encodedPayload);
      if (facts.guid === guid) packet = facts;
    }
  }
  if (path && packet && same(path.peer, packet.receiver)) await context.db.update(peer, pathPk).set({ outboundNonce: packet.nonce });
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
  const row = (await context.db.find(token, tokenPk)) as typeof token.$inferSelect | null;
  if (row) {
    if (row.lastTxHash === event.transaction.hash && row.lastLogIndex < event.log.logIndex) {
      const pk = { chainId, txHash: event.transaction.hash, logIndex: row.lastLogIndex };
      if (await context.db.find(transfer, pk)) await context.db.update(transfer, pk).set({ kind: "bridge_out", guid });
      const activityPk = { chainId, blockNumber: event.block.number, logIndex: row.lastLogIndex };
      if (await context.db.find(activity, activityPk)) await context.db.delete(activity, activityPk);
    }
    await context.db.update(token, tokenPk).set({ state: dep.kind === "onft" ? "bridged_out" : "locked", lastSendGuid: guid });
  }
  await context.db
    .update(collectionDeployment, { chainId, address: dep.address })
    .set((r: typeof collectionDeployment.$inferSelect) => ({ bridgedOut: r.bridgedOut + 1 }));
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

ponder.on("Collection:ONFTSent", async ({ event, context }) => onSent(event, context as never));

// ---------------------------------------------------------------- bridge: destination half
type ReceiveFacts = Partial<typeof bridgeReceive.$inferInsert>;

async function upsertReceive(context: Ctx, dep: IndexerDeployment, guid: Hex, srcEid: number, key: string, facts: ReceiveFacts) {
  const chainId = context.chain.id;
  const existing = (await context.db.find(bridgeReceive, { guid, chainId })) as typeof bridgeReceive.$inferSelect | null;
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

async function onReceived(
  event: {
    args: { guid: Hex; srcEid: number; toAddress: Address; tokenId: bigint };
    log: { address: Address; logIndex: number };
    block: BlockInfo;
    transaction: { hash: Hex };
  },
  context: Ctx,
) {
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
  const row = (await context.db.find(token, tokenPk)) as typeof token.$inferSelect | null;
  if (row) {
    if (row.lastTxHash === event.transaction.hash && row.lastLogIndex < event.log.logIndex) {
      const pk = { chainId, txHash: event.transaction.hash, logIndex: row.lastLogIndex };
      const credit = (await context.db.find(transfer, pk)) as typeof transfer.$inferSelect | null;
      if (credit) {
        await context.db.update(transfer, pk).set({ kind: "bridge_in", guid });
        if (credit.kind === "mint")
          await context.db
            .update(collectionDeployment, { chainId, address: dep.address })
            .set((r: typeof collectionDeployment.$inferSelect) => ({ minted: r.minted - 1 }));
      }
      const activityPk = { chainId, blockNumber: event.block.number, logIndex: row.lastLogIndex };
      if (await context.db.find(activity, activityPk)) await context.db.delete(activity, activityPk);
    }
    await context.db.update(token, tokenPk).set({ lastReceiveGuid: guid });
  }
  await context.db
    .update(collectionDeployment, { chainId, address: dep.address })
    .set((row: typeof collectionDeployment.$inferSelect) => ({ bridgedIn: row.bridgedIn + 1 }));
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
  const existing = (await context.db.find(bridgeReceive, { guid, chainId })) as typeof bridgeReceive.$inferSelect | null;
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

// ---------------------------------------------------------------- configuration events
async function onOwnership(event: { args: { newOwner: Address }; log: { address: Address }; block: BlockInfo }, context: Ctx) {
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

async function onPeerSet(event: { args: { eid: number; peer: Hex }; log: { address: Address }; block: BlockInfo }, context: Ctx) {
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
    .onConflictDoUpdate((row: typeof peer.$inferSelect) => ({
      peer: event.args.peer,
      blockNumber: event.block.number,
      outboundNonce: row.peer.toLowerCase() === event.args.peer.toLowerCase() ? row.outboundNonce : null,
    }));
}
ponder.on("Collection:PeerSet", async ({ event, context }) => onPeerSet(event, context));

// ERC-4906: the log is recorded; re-resolving the metadata happens off-chain (jobs/metadataFollower.ts).
async function onMetadataUpdate(
  event: { log: { address: Address; logIndex: number }; block: BlockInfo; transaction: { hash: Hex } },
  context: Ctx,
  range: { from: bigint; to: bigint },
) {
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
