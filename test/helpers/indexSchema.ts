/**
 * A Ponder-shaped index schema, built by hand: what an API replica sees of an index, without
 * running Ponder. The tables and indexes of ponder.schema.ts come from Ponder's own DDL generator
 * (minus its `_reorg__` shadow tables), plus a `_ponder_checkpoint` row per chain and the `cosmic`
 * collection row. Callers insert their own tokens (the client's search_path is left on `schema`).
 * One helper for the resilience fixtures and bench/api-nfts, so the three stay the same shape.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import type pg from "pg";
import * as ponderSchema from "../../ponder.schema.js";

export type IndexChain = { name: string; chainId: number; block: number };

/** Ponder's checkpoint string: timestamp, chain id, block number, then zeroed tx/event fields (75 chars). */
export const ponderCheckpoint = (chainId: number, block: number) =>
  `1700000000${String(chainId).padStart(16, "0")}${String(block).padStart(16, "0")}${"0".repeat(33)}`;

/**
 * Creates `schema` with the index's tables, `_ponder_checkpoint` (one row per chain) and the
 * `cosmic` collection (on the first chain). Indexes are created too, unless `deferIndexes` (as
 * Ponder does after a backfill): then call the returned `createIndexes` after the bulk inserts.
 */
export async function createPonderShapedSchema(
  client: pg.Client,
  schema: string,
  chains: readonly IndexChain[],
  { deferIndexes = false } = {},
): Promise<{ createIndexes: () => Promise<void> }> {
  const first = chains[0];
  if (!first) throw new Error("createPonderShapedSchema: at least one chain");
  const kit = await import(pathToFileURL(path.resolve("node_modules/ponder/dist/esm/drizzle/kit/index.js")).href);
  const ddl = kit.getSql(ponderSchema) as { tables: { sql: string[] }; indexes: { sql: string[] } };
  const createIndexes = async () => {
    for (const stmt of ddl.indexes.sql) await client.query(stmt);
  };
  await client.query(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"`);
  for (const stmt of ddl.tables.sql.filter((s) => !s.includes('"_reorg__'))) await client.query(stmt);
  if (!deferIndexes) await createIndexes();
  await client.query(
    `CREATE TABLE _ponder_checkpoint (chain_name text PRIMARY KEY, chain_id bigint NOT NULL, safe_checkpoint varchar(75) NOT NULL, latest_checkpoint varchar(75) NOT NULL, finalized_checkpoint varchar(75) NOT NULL)`,
  );
  for (const c of chains)
    await client.query(`INSERT INTO _ponder_checkpoint VALUES ($1, $2, $3, $3, $3)`, [c.name, c.chainId, ponderCheckpoint(c.chainId, c.block)]);
  await client.query(`INSERT INTO collection VALUES ('cosmic', 'Cosmic', 'COSMIC', $1)`, [first.chainId]);
  return { createIndexes };
}
