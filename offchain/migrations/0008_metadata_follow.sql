-- The ERC-4906 follower (jobs/metadataFollower.ts): per chain, the indexed block its
-- announcements (metadata_update rows of the index) were handled up to, and the rows handled within
-- the reorg window (a row re-mined at or below the cursor is still seen once; one that vanished is
-- re-resolved once more: the chain's tokenURI went back).
CREATE TABLE offchain.metadata_follow_cursor (
  chain_id integer PRIMARY KEY,
  block_number bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE offchain.metadata_follow_seen (
  id text PRIMARY KEY,
  chain_id integer NOT NULL,
  block_number bigint NOT NULL,
  -- What the announcement covered, to re-resolve it if a reorg removes it.
  collection text NOT NULL,
  contract text NOT NULL,
  from_token_id numeric(78, 0) NOT NULL,
  to_token_id numeric(78, 0) NOT NULL
);
CREATE INDEX metadata_follow_seen_block ON offchain.metadata_follow_seen (chain_id, block_number);

-- Idempotent async mints find the latest job of a key whatever its status (the unique index on
-- dedupe_key covers active jobs only).
CREATE INDEX jobs_dedupe_key_latest ON offchain.jobs (dedupe_key, created_at DESC) WHERE dedupe_key IS NOT NULL;
