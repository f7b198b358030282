/** Drizzle declarations of the NFT/bridge tables (migration 0002_nfts.sql is the source of truth). */
import { bigint, integer, jsonb, numeric, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { offchain, ts } from "./pgSchema.js";

/** uint256 as numeric(78,0); drizzle hands it over as a decimal string. */
const uint256 = (name: string) => numeric(name, { precision: 78, scale: 0 });

export const nftSerials = offchain.table(
  "nft_serials",
  {
    chainId: integer("chain_id").notNull(),
    contract: text("contract").notNull(),
    nextSerial: bigint("next_serial", { mode: "bigint" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.contract] })],
);

export const nftMints = offchain.table("nft_mints", {
  id: uuid("id").primaryKey(),
  principal: text("principal").notNull(),
  idempotencyKey: text("idempotency_key"),
  requestHash: text("request_hash").notNull(),
  chainId: integer("chain_id").notNull(),
  collection: text("collection").notNull(),
  contract: text("contract").notNull(),
  recipients: text("recipients").array().notNull(),
  tokenIds: uint256("token_ids").array(),
  // unconfirmed: maybe sent, outcome unknown (domain/nfts/mint.ts settles it on a retry).
  status: text("status").$type<"pending" | "confirmed" | "unconfirmed" | "failed">().notNull(),
  txHash: text("tx_hash"),
  blockNumber: bigint("block_number", { mode: "bigint" }),
  error: text("error"),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export const nftMetadataVersions = offchain.table(
  "nft_metadata_versions",
  {
    collection: text("collection").notNull(),
    tokenId: uint256("token_id").notNull(),
    version: integer("version").notNull(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull(),
    updatedBy: text("updated_by").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.collection, t.tokenId, t.version] })],
);

export const nftMetadataResolved = offchain.table(
  "nft_metadata_resolved",
  {
    collection: text("collection").notNull(),
    tokenId: uint256("token_id").notNull(),
    chainId: integer("chain_id").notNull(),
    tokenUri: text("token_uri"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>(),
    error: text("error"),
    imageUrl: text("image_url"),
    imageHash: text("image_hash"),
    fetchedAt: ts("fetched_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.collection, t.tokenId] })],
);

export const collectionProfiles = offchain.table("collection_profiles", {
  slug: text("slug").primaryKey(),
  description: text("description"),
  image: text("image"),
  bannerImage: text("banner_image"),
  externalUrl: text("external_url"),
  links: jsonb("links").$type<Record<string, string>>().notNull(),
  updatedBy: text("updated_by").notNull(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export const bridgeOperations = offchain.table("bridge_operations", {
  id: uuid("id").primaryKey(),
  address: text("address").notNull(),
  collection: text("collection").notNull(),
  tokenId: uint256("token_id").notNull(),
  srcChainId: integer("src_chain_id").notNull(),
  dstChainId: integer("dst_chain_id").notNull(),
  recipient: text("recipient").notNull(),
  nativeFee: uint256("native_fee").notNull(),
  value: uint256("value").notNull(),
  txTo: text("tx_to").notNull(),
  txData: text("tx_data").notNull(),
  txHash: text("tx_hash"),
  guid: text("guid"),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});
