-- Webhooks (docs/webhooks.md): subscriptions, the events they may receive (an outbox written in
-- the notifier's transaction, kept for replay), and one delivery row per (subscription, event)
-- with its attempts. Deliveries survive a Redis outage here; the job queue only runs them.
CREATE TABLE offchain.webhook_subscriptions (
  id uuid PRIMARY KEY,
  url text NOT NULL,
  event_types text[] NOT NULL,
  -- {collections?: string[], addresses?: string[] (checksummed), chainIds?: number[]}
  filters jsonb NOT NULL DEFAULT '{}',
  min_confirmations integer NOT NULL DEFAULT 0,
  -- HMAC keys (needed in clear to sign); shown once at creation / rotation, never logged.
  secret text NOT NULL,
  previous_secret text,
  previous_secret_expires_at timestamptz,
  description text,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE offchain.webhook_events (
  seq bigserial PRIMARY KEY,
  -- The push id (realtime/protocol.ts): the idempotency id of every delivery of this event.
  push_id text NOT NULL UNIQUE,
  type text NOT NULL,
  data jsonb NOT NULL,
  chain_id integer,
  block_number bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_created ON offchain.webhook_events (created_at);

CREATE TABLE offchain.webhook_deliveries (
  id uuid PRIMARY KEY,
  subscription_id uuid NOT NULL REFERENCES offchain.webhook_subscriptions (id) ON DELETE CASCADE,
  -- The event (null for POST /webhooks/{id}/test); push_id is the idempotency id sent.
  event_seq bigint,
  push_id text NOT NULL,
  type text NOT NULL,
  payload jsonb NOT NULL,
  -- waiting (confirmations) → pending → queued → delivering → delivered | retrying → … | dead; cancelled
  status text NOT NULL,
  -- Confirmations: released once chain_id is indexed at ready_block.
  chain_id integer,
  ready_block bigint,
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  -- Times handed to the job queue (part of its dedupe key: a job lost with Redis is queued again).
  enqueues integer NOT NULL DEFAULT 0,
  job_id uuid,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_status integer,
  last_error text,
  -- The last attempts: [{at, status, error, ms}], newest last (at most 20).
  attempt_log jsonb NOT NULL DEFAULT '[]',
  replay boolean NOT NULL DEFAULT false,
  delivered_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_by_subscription ON offchain.webhook_deliveries (subscription_id, created_at DESC);
CREATE INDEX webhook_deliveries_to_queue ON offchain.webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'queued', 'delivering', 'retrying');
CREATE INDEX webhook_deliveries_waiting ON offchain.webhook_deliveries (chain_id, ready_block) WHERE status = 'waiting';
CREATE INDEX webhook_deliveries_push ON offchain.webhook_deliveries (push_id);
