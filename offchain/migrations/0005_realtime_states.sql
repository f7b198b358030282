-- Notifier row states (realtime/notifier.ts). A handled activity row is now one of:
--   pushed    announced with push id `push_id`
--   silent    consumed without a push (history, or older than the max event age)
--   held      a bridge delivery/failure waiting for its send half to be indexed (never pruned)
--   retracted announced, then removed by a reorg; kept as a tombstone for the finality window so
--             a row that comes back (same tx, block and log index) is announced under a new push id
-- `missing_since` is the checkpoint vector under which a handled row was first seen missing: under
-- multichain ordering Ponder 0.16 reverts every chain's rows written after a reorged operation and
-- re-executes the other chains' events with its next block, so a row is only retracted once it is
-- still missing after the index has moved on.
ALTER TABLE offchain.realtime_pushed
  ADD COLUMN state text NOT NULL DEFAULT 'pushed' CHECK (state IN ('pushed', 'silent', 'held', 'retracted')),
  ADD COLUMN push_id text,
  ADD COLUMN generation integer NOT NULL DEFAULT 0,
  ADD COLUMN missing_since text;
UPDATE offchain.realtime_pushed SET state = CASE WHEN silent THEN 'silent' ELSE 'pushed' END, push_id = id;
ALTER TABLE offchain.realtime_pushed DROP COLUMN silent;
CREATE INDEX realtime_pushed_held ON offchain.realtime_pushed (chain_id) WHERE state = 'held';
