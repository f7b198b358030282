-- Realtime notifier state (realtime/notifier.ts). One notifier tick at a time across replicas
-- (transaction-level advisory lock); all of its state lives here so restarts and failovers
-- neither repeat nor skip pushes.

-- Per chain: the indexed block the notifier has processed up to.
CREATE TABLE offchain.realtime_cursor (
  chain_id integer PRIMARY KEY,
  block_number bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Activity rows already handled, kept for the finality window so a reorg that removes one is
-- retracted. `silent` rows were consumed without a push (history older than the max event age).
CREATE TABLE offchain.realtime_pushed (
  id text PRIMARY KEY,
  chain_id integer NOT NULL,
  block_number bigint NOT NULL,
  type text NOT NULL,
  rooms text[] NOT NULL,
  data jsonb NOT NULL,
  silent boolean NOT NULL DEFAULT false,
  pushed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX realtime_pushed_chain_block ON offchain.realtime_pushed (chain_id, block_number);

-- Bridges announced as stuck (announced once).
CREATE TABLE offchain.realtime_stuck (
  guid text PRIMARY KEY,
  notified_at timestamptz NOT NULL DEFAULT now()
);
