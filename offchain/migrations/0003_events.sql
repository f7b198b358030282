-- Events service: POAP-style events, registrations with tickets, attendance, NFT distribution;
-- background jobs (distribute-nfts, generate-event-report) with their visible status.

CREATE TABLE offchain.events (
  id                      uuid PRIMARY KEY,
  organizer               text NOT NULL,                 -- EIP-55
  name                    text NOT NULL,
  description             text NOT NULL DEFAULT '',
  location                text NOT NULL DEFAULT '',
  starts_at               timestamptz NOT NULL,
  ends_at                 timestamptz NOT NULL,
  registration_opens_at   timestamptz NOT NULL,
  registration_closes_at  timestamptz NOT NULL,
  capacity                integer NOT NULL CHECK (capacity > 0),
  -- Seats taken: incremented by a conditional UPDATE in the registration's transaction, so the
  -- capacity holds under concurrent registrations on every replica.
  registered              integer NOT NULL DEFAULT 0 CHECK (registered >= 0 AND registered <= capacity),
  collection              text NOT NULL,                 -- collection slug of the attendance NFT
  chain_id                integer NOT NULL,              -- chain it is minted on
  contract                text NOT NULL,                 -- EIP-55 ONFT address on that chain (fixed at creation)
  eid                     integer NOT NULL,              -- LayerZero EID of that chain (token-id range)
  status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at >= starts_at),
  CHECK (registration_closes_at >= registration_opens_at)
);
CREATE INDEX events_starts_idx ON offchain.events (starts_at, id);
CREATE INDEX events_organizer_idx ON offchain.events (organizer, starts_at, id);

CREATE TABLE offchain.event_participants (
  event_id            uuid NOT NULL REFERENCES offchain.events(id) ON DELETE CASCADE,
  address             text NOT NULL,                     -- EIP-55
  ticket_id           uuid NOT NULL UNIQUE,              -- its rotating-code secret is derived from it (never stored)
  registered_at       timestamptz NOT NULL DEFAULT now(),
  attended_at         timestamptz,
  verified_by         text,
  -- none (not attended / not yet) | sending (in a batch whose receipt is not recorded) | minted | failed
  distribution_status text NOT NULL DEFAULT 'none' CHECK (distribution_status IN ('none', 'sending', 'minted', 'failed')),
  token_id            numeric(78, 0),                    -- tokenIdInRange(eid, first 64 bits of keccak(eventId, address))
  tx_hash             text,
  minted_at           timestamptz,
  distribution_error  text,
  PRIMARY KEY (event_id, address)
);
CREATE INDEX event_participants_address_idx ON offchain.event_participants (address);
CREATE INDEX event_participants_token_idx ON offchain.event_participants (token_id);

-- Background jobs as the API shows them (GET /jobs/:id), whichever queue runs them (BullMQ or
-- the in-process fallback). dedupe_key keeps one active job per purpose (e.g. per event).
CREATE TABLE offchain.jobs (
  id           uuid PRIMARY KEY,
  type         text NOT NULL,
  status       text NOT NULL CHECK (status IN ('queued', 'running', 'retrying', 'completed', 'failed')),
  data         jsonb NOT NULL DEFAULT '{}'::jsonb,
  dedupe_key   text,
  created_by   text NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  progress     jsonb,
  result       jsonb,
  error        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX jobs_active_dedupe_idx ON offchain.jobs (dedupe_key) WHERE status IN ('queued', 'running', 'retrying');
CREATE INDEX jobs_status_idx ON offchain.jobs (status, created_at);
