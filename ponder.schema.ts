/**
 * Onchain tables. Every row is written by exactly one chain — the chain id is part of every primary
 * key (except `collection`, a static row written once by its home chain's setup) — so the index is
 * the same whatever order Ponder's `multichain` ordering interleaves chains in, and a reorg on one
 * chain can never leave half of a cross-chain row behind.
 * Cross-chain facts are joined at read time: a bridge is `bridge_send` (source chain) + `bridge_receive`
 * (destination chain) by guid; a token's omnichain location is derived from its `token` rows.
 */
import { index, onchainTable, primaryKey, relations } from "ponder";

/** One omnichain collection (its deployments are in `collection_deployment`). */
export const collection = onchainTable("collection", (t) => ({
  slug: t.text().primaryKey(),
  name: t.text().notNull(),
  symbol: t.text().notNull(),
  /** Chain of the first deployment; its setup writes this row. */
  homeChainId: t.integer().notNull(),
}));

/** A collection's OApp on one chain, with live counters. */
export const collectionDeployment = onchainTable(
  "collection_deployment",
  (t) => ({
    chainId: t.integer().notNull(),
    /** The OApp: ONFT721 or adapter. */
    address: t.hex().notNull(),
    collection: t.text().notNull(),
    kind: t.text().notNull(), // "onft" | "adapter"
    eid: t.integer().notNull(),
    /** The ERC-721 holding the tokens (= address for an ONFT). */
    token: t.hex().notNull(),
    owner: t.hex(),
    /** Tokens present on this chain (owned by someone, not burnt, not locked in the adapter). */
    supply: t.integer().notNull(),
    minted: t.integer().notNull(),
    bridgedOut: t.integer().notNull(),
    bridgedIn: t.integer().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.address] }),
    collectionIdx: index().on(table.collection),
  }),
);

/** Ownable owner of any indexed contract (ONFT, adapter, adapted ERC-721). */
export const contractOwner = onchainTable(
  "contract_owner",
  (t) => ({ chainId: t.integer().notNull(), address: t.hex().notNull(), owner: t.hex().notNull(), blockNumber: t.bigint().notNull() }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.address] }) }),
);

export const peer = onchainTable(
  "peer",
  (t) => ({
    chainId: t.integer().notNull(),
    oapp: t.hex().notNull(),
    eid: t.integer().notNull(),
    peer: t.hex().notNull(),
    blockNumber: t.bigint().notNull(),
    /** The path's (oapp → eid, peer) last outbound nonce seen in a PacketSent; null when unknown (peer changed). */
    outboundNonce: t.bigint(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.oapp, table.eid] }) }),
);

/**
 * A token as seen by one chain. `state`: `present` (owned here), `locked` (held by the adapter:
 * bridged away from its home chain), `bridged_out` (burnt by an ONFT send), `burned`.
 */
export const token = onchainTable(
  "token",
  (t) => ({
    chainId: t.integer().notNull(),
    /** The ERC-721 contract (ONFT, or the adapted collection on its home chain). */
    contract: t.hex().notNull(),
    tokenId: t.bigint().notNull(),
    collection: t.text().notNull(),
    owner: t.hex().notNull(),
    state: t.text().notNull(),
    /** guid of the last bridge that sent this token away from this chain. */
    lastSendGuid: t.hex(),
    /** guid of the last bridge that brought it here. */
    lastReceiveGuid: t.hex(),
    mintedBlock: t.bigint().notNull(),
    updatedBlock: t.bigint().notNull(),
    updatedTimestamp: t.bigint().notNull(),
    /** Stable order key of the last change (see `activity.orderKey`). */
    updatedOrderKey: t.text().notNull(),
    /** Transfer log of the last change (bridge handlers reclassify it as bridge_out / bridge_in). */
    lastTxHash: t.hex().notNull(),
    lastLogIndex: t.integer().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.contract, table.tokenId] }),
    ownerIdx: index().on(table.owner, table.chainId),
    idIdx: index().on(table.collection, table.tokenId),
  }),
);

/** Every ERC-721 Transfer of an indexed token. `kind`: mint, transfer, burn, bridge_out, bridge_in. */
export const transfer = onchainTable(
  "transfer",
  (t) => ({
    chainId: t.integer().notNull(),
    txHash: t.hex().notNull(),
    logIndex: t.integer().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    collection: t.text().notNull(),
    contract: t.hex().notNull(),
    tokenId: t.bigint().notNull(),
    from: t.hex().notNull(),
    to: t.hex().notNull(),
    kind: t.text().notNull(),
    /** Set for bridge_out / bridge_in. */
    guid: t.hex(),
    orderKey: t.text().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.txHash, table.logIndex] }),
    tokenIdx: index().on(table.collection, table.tokenId),
    fromIdx: index().on(table.from),
    toIdx: index().on(table.to),
    orderIdx: index().on(table.orderKey),
  }),
);

/** Source half of a bridge: ONFTSent + our PacketSent of the same transaction. */
export const bridgeSend = onchainTable(
  "bridge_send",
  (t) => ({
    guid: t.hex().notNull(),
    chainId: t.integer().notNull(),
    collection: t.text().notNull(),
    srcEid: t.integer().notNull(),
    dstEid: t.integer().notNull(),
    /** null when the destination EID is not one of the indexed chains. */
    dstChainId: t.integer(),
    nonce: t.bigint().notNull(),
    /** Our OApp that sent (ONFT or adapter). */
    oapp: t.hex().notNull(),
    /** The peer OApp on the destination (PacketSent receiver). */
    dstOapp: t.hex().notNull(),
    /** Holder the token was sent from. */
    fromAddress: t.hex().notNull(),
    /** Recipient on the destination (from the ONFT message). */
    recipient: t.hex().notNull(),
    tokenId: t.bigint().notNull(),
    /** The packet's message (ONFT: sendTo b32 | tokenId u256): with the guid, what the destination stores the hash of. */
    message: t.hex().notNull(),
    txHash: t.hex().notNull(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    orderKey: t.text().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.guid, table.chainId] }),
    guidIdx: index().on(table.guid),
    tokenIdx: index().on(table.collection, table.tokenId),
    fromIdx: index().on(table.fromAddress),
    recipientIdx: index().on(table.recipient),
    txIdx: index().on(table.txHash),
  }),
);

/**
 * Destination half of a bridge. `status`: VERIFIED (PacketVerified, devnet only), DELIVERED
 * (ONFTReceived / PacketDelivered), FAILED (LzReceiveAlert, with reason; the packet stays verified
 * and a later retry can still deliver it).
 */
export const bridgeReceive = onchainTable(
  "bridge_receive",
  (t) => ({
    guid: t.hex().notNull(),
    chainId: t.integer().notNull(),
    collection: t.text().notNull(),
    srcEid: t.integer().notNull(),
    dstEid: t.integer().notNull(),
    srcChainId: t.integer(),
    nonce: t.bigint(),
    /** Our receiving OApp. */
    oapp: t.hex().notNull(),
    /** The source OApp (origin.sender). */
    srcOapp: t.hex(),
    recipient: t.hex(),
    tokenId: t.bigint(),
    /** DELIVERED (ONFTReceived) or FAILED (LzReceiveAlert): what our own events say. */
    status: t.text().notNull(),
    deliveredTxHash: t.hex(),
    deliveredBlock: t.bigint(),
    deliveredTimestamp: t.bigint(),
    failedTxHash: t.hex(),
    failedBlock: t.bigint(),
    failedTimestamp: t.bigint(),
    failureReason: t.text(),
    failureReasonData: t.hex(),
    /** The lzReceive gas the failed delivery had (LzReceiveAlert.gas): a retry needs more. */
    failureGas: t.bigint(),
    failureCount: t.integer().notNull(),
    orderKey: t.text().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.guid, table.chainId] }),
    guidIdx: index().on(table.guid),
    tokenIdx: index().on(table.collection, table.tokenId),
    recipientIdx: index().on(table.recipient),
    statusIdx: index().on(table.status),
  }),
);

/**
 * Domain activity feed: minted, transferred, bridge_sent, bridge_delivered, bridge_failed.
 * `orderKey` = zero-padded `timestamp-chainId-block-logIndex`: a total order that is the same
 * on every run (notifiers page through it after their last delivered key).
 */
export const activity = onchainTable(
  "activity",
  (t) => ({
    chainId: t.integer().notNull(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    orderKey: t.text().notNull(),
    type: t.text().notNull(),
    collection: t.text().notNull(),
    tokenId: t.bigint().notNull(),
    from: t.hex(),
    to: t.hex(),
    guid: t.hex(),
    /** Other chain of a bridge (destination of a send, source of a delivery). */
    otherChainId: t.integer(),
    txHash: t.hex().notNull(),
    timestamp: t.bigint().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.blockNumber, table.logIndex] }),
    orderIdx: index().on(table.orderKey),
    tokenIdx: index().on(table.collection, table.tokenId),
  }),
);

/**
 * ERC-4906 announcements of a collection deployment: `MetadataUpdate(id)` (fromTokenId = toTokenId)
 * and `BatchMetadataUpdate(from, to)`. Followed off-chain (jobs/metadataFollower.ts), which
 * re-resolves the tokens' metadata; handlers only record the log.
 */
export const metadataUpdate = onchainTable(
  "metadata_update",
  (t) => ({
    chainId: t.integer().notNull(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    contract: t.hex().notNull(),
    collection: t.text().notNull(),
    fromTokenId: t.bigint().notNull(),
    toTokenId: t.bigint().notNull(),
    txHash: t.hex().notNull(),
    timestamp: t.bigint().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.blockNumber, table.logIndex] }),
  }),
);

export const collectionRelations = relations(collection, ({ many }) => ({
  deployments: many(collectionDeployment),
  tokens: many(token),
}));

export const collectionDeploymentRelations = relations(collectionDeployment, ({ one }) => ({
  collectionInfo: one(collection, { fields: [collectionDeployment.collection], references: [collection.slug] }),
}));

export const tokenRelations = relations(token, ({ one, many }) => ({
  collectionInfo: one(collection, { fields: [token.collection], references: [collection.slug] }),
  transfers: many(transfer),
}));

export const transferRelations = relations(transfer, ({ one }) => ({
  token: one(token, { fields: [transfer.chainId, transfer.contract, transfer.tokenId], references: [token.chainId, token.contract, token.tokenId] }),
}));

export const bridgeSendRelations = relations(bridgeSend, ({ one }) => ({
  receive: one(bridgeReceive, { fields: [bridgeSend.guid], references: [bridgeReceive.guid] }),
}));

export const bridgeReceiveRelations = relations(bridgeReceive, ({ one }) => ({
  send: one(bridgeSend, { fields: [bridgeReceive.guid], references: [bridgeSend.guid] }),
}));
