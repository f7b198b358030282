-- Bridge progress read from the chains by the bridge tracker (domain/bridge/tracker.ts): what the
-- index cannot know because endpoint and library events carry no indexed field. One row per bridge
-- in flight (and kept once final for the status views); one row per chain for the tracker's health.
CREATE TABLE offchain.bridge_progress (
  guid text PRIMARY KEY,
  src_chain_id integer NOT NULL,
  dst_chain_id integer NOT NULL,
  progress jsonb NOT NULL,
  -- Bumped on every change the notifier has to announce (bridge:updated); announced_version is
  -- the last version it announced, announced the step keys it sent (a reorg retracts the others).
  version integer NOT NULL DEFAULT 1,
  announced_version integer NOT NULL DEFAULT 0,
  announced text[] NOT NULL DEFAULT '{}',
  -- Delivered or failed in the index and the steps filled in: the tracker stops reading it.
  final boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bridge_progress_pending ON offchain.bridge_progress (dst_chain_id) WHERE NOT final;
CREATE INDEX bridge_progress_unannounced ON offchain.bridge_progress (guid) WHERE version > announced_version;

CREATE TABLE offchain.bridge_tracker_chains (
  chain_id integer PRIMARY KEY,
  head bigint NOT NULL,
  -- Last successful read of the chain's head (a status older than a few polls is `stale`).
  checked_at timestamptz NOT NULL,
  error text
);
