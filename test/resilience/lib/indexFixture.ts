/**
 * A Ponder-shaped index on any Postgres server: the tables of ponder.schema.ts (Ponder's own DDL
 * generator), a `_ponder_checkpoint` row per chain and a few `present` tokens, plus the matching
 * IndexerSetup (RPC URLs as given). What an API replica reads, without running Ponder.
 */
import pg from "pg";
import { type Address, getAddress } from "viem";
import { tokenIdInRange } from "../../../chain/onft.js";
import type { IndexerSetup } from "../../../indexer/setup.js";
import { createPonderShapedSchema } from "../../helpers/indexSchema.js";

export const FIXTURE_CHAINS = [
  { chainId: 31337, eid: 50001, name: "a" },
  { chainId: 31338, eid: 50002, name: "b" },
] as const;
export const FIXTURE_CONTRACT = getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3");
export const FIXTURE_OWNER = getAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");

export async function createIndexFixture(databaseUrl: string, schema: string, tokens = 3): Promise<{ tokenIds: bigint[] }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await createPonderShapedSchema(
      client,
      schema,
      FIXTURE_CHAINS.map((c) => ({ name: c.name, chainId: c.chainId, block: 1000 })),
    );
    const tokenIds = Array.from({ length: tokens }, (_, i) => tokenIdInRange(FIXTURE_CHAINS[0].eid, BigInt(i)));
    for (const [i, id] of tokenIds.entries())
      await client.query(
        `INSERT INTO token (chain_id, contract, token_id, collection, owner, state, minted_block, updated_block, updated_timestamp, updated_order_key, last_tx_hash, last_log_index)
         VALUES ($1, $2, $3, 'cosmic', $4, 'present', 1, 1, 1700000000, $5, $6, 0)`,
        [
          FIXTURE_CHAINS[0].chainId,
          FIXTURE_CONTRACT.toLowerCase(),
          id.toString(),
          FIXTURE_OWNER.toLowerCase(),
          String(i).padStart(20, "0"),
          `0x${String(i + 1).padStart(64, "0")}`,
        ],
      );
    return { tokenIds };
  } finally {
    await client.end();
  }
}

export function fixtureNetwork(rpcUrl: string): IndexerSetup {
  const endpoint: Address = getAddress("0x1a44076050125825900e736c501f859c50fE728c");
  const deployments = FIXTURE_CHAINS.map((c) => ({
    slug: "cosmic",
    chainId: c.chainId,
    chainName: c.name,
    eid: c.eid,
    kind: "onft" as const,
    address: FIXTURE_CONTRACT,
    token: FIXTURE_CONTRACT,
    startBlock: 0,
  }));
  return {
    mode: "devnet",
    id: "resilience-outage",
    chains: FIXTURE_CHAINS.map((c) => ({ name: c.name, chainId: c.chainId, eid: c.eid, rpcUrl, endpoint, startBlock: 0, pollingInterval: 100 })),
    collections: [{ slug: "cosmic", name: "Cosmic", symbol: "COSMIC", deployments }],
    deployments,
  };
}
