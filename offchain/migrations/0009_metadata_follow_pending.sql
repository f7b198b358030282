-- The follower queues its jobs after its transaction commits (jobs/metadataFollower.ts):
-- a seen row records whether its re-resolution is queued yet, and whether a reorg removed it from
-- the index (re-resolved once more, then forgotten).
ALTER TABLE offchain.metadata_follow_seen
  ADD COLUMN pending boolean NOT NULL DEFAULT false,
  ADD COLUMN vanished boolean NOT NULL DEFAULT false;
CREATE INDEX metadata_follow_seen_pending ON offchain.metadata_follow_seen (chain_id, block_number) WHERE pending;
