-- NFT and bridge services: server mints (serials, idempotency), metadata overrides with history,
-- resolved on-chain metadata and thumbnails, collection profiles, prepared bridge operations.

-- Next free serial of the server's mints per (chain, contract): ids are tokenIdInRange(eid, serial).
-- A row UPDATE ... RETURNING reserves a block of serials atomically across replicas.
CREATE TABLE offchain.nft_serials (
  chain_id    integer NOT NULL,
  contract    text NOT NULL,                      -- EIP-55
  next_serial bigint NOT NULL,
  PRIMARY KEY (chain_id, contract)
);

-- One row per POST /nfts; (principal, idempotency_key) makes a retried request return the first result.
CREATE TABLE offchain.nft_mints (
  id              uuid PRIMARY KEY,
  principal       text NOT NULL,                  -- checksummed address or apiKey:<id>
  idempotency_key text,
  request_hash    text NOT NULL,
  chain_id        integer NOT NULL,
  collection      text NOT NULL,
  contract        text NOT NULL,
  recipients      text[] NOT NULL,
  token_ids       numeric(78, 0)[],
  status          text NOT NULL,                  -- pending | confirmed | failed
  tx_hash         text,
  block_number    bigint,
  error           text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX nft_mints_idempotency_idx ON offchain.nft_mints (principal, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Off-chain metadata overrides; every PUT adds a version (history kept).
CREATE TABLE offchain.nft_metadata_versions (
  collection  text NOT NULL,
  token_id    numeric(78, 0) NOT NULL,
  version     integer NOT NULL,
  metadata    jsonb NOT NULL,
  updated_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (collection, token_id, version)
);

-- Last resolution of the on-chain tokenURI (and its image thumbnail).
CREATE TABLE offchain.nft_metadata_resolved (
  collection    text NOT NULL,
  token_id      numeric(78, 0) NOT NULL,
  chain_id      integer NOT NULL,
  token_uri     text,
  metadata      jsonb,
  error         text,
  image_url     text,
  image_hash    text,                             -- sha256 of the original image = thumbnail file name
  fetched_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (collection, token_id)
);

-- Admin-editable profile of a collection (the index has name/symbol/deployments only).
CREATE TABLE offchain.collection_profiles (
  slug          text PRIMARY KEY,
  description   text,
  image         text,
  banner_image  text,
  external_url  text,
  links         jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_by    text NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Bridges prepared by POST /bridge; linked to the indexed send by tx hash or (token, sender, time).
CREATE TABLE offchain.bridge_operations (
  id            uuid PRIMARY KEY,
  address       text NOT NULL,                    -- sender (checksummed)
  collection    text NOT NULL,
  token_id      numeric(78, 0) NOT NULL,
  src_chain_id  integer NOT NULL,
  dst_chain_id  integer NOT NULL,
  recipient     text NOT NULL,
  native_fee    numeric(78, 0) NOT NULL,
  value         numeric(78, 0) NOT NULL,
  tx_to         text NOT NULL,
  tx_data       text NOT NULL,
  tx_hash       text,                             -- reported by the client or found in the index
  guid          text,                             -- LayerZero guid once linked
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bridge_operations_tx_idx ON offchain.bridge_operations (tx_hash);
CREATE INDEX bridge_operations_guid_idx ON offchain.bridge_operations (guid);
CREATE INDEX bridge_operations_token_idx ON offchain.bridge_operations (collection, token_id, src_chain_id);
