/**
 * The indexer setup as the indexing functions of src/ see it: loaded once per process (every
 * handler file imports this module), with its lookups by chain id, address and eid. Registers no
 * handler (Ponder loads every file under src/; loading this one only builds the lookups).
 *
 * The indexing functions are pure functions of the event and the indexed state (no HTTP, clock or
 * Redis), so Ponder can revert and replay them on reorgs. Every row they write belongs to the chain
 * of the event (chain id in its primary key): bridges are joined by guid at read time. Their pure
 * helpers are in indexer/model.ts.
 */
import { loadIndexerSetup, setupIndex } from "../indexer/setup.js";

export const setup = loadIndexerSetup();
export const lookup = setupIndex(setup);

/** The setup of a chain Ponder indexes (one of ponder.config.ts's chains, so always present). */
export function chainOf(chainId: number) {
  const chain = lookup.chain(chainId);
  if (!chain) throw new Error(`chain ${chainId} is not in the indexer setup`);
  return chain;
}
