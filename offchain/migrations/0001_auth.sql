-- Auth: users and their roles, SIWE sessions with refresh-token families, API keys, audit trail.
CREATE TABLE offchain.users (
  address          text PRIMARY KEY,               -- EIP-55 checksummed
  roles            text[] NOT NULL DEFAULT '{user}',
  preferences      jsonb NOT NULL DEFAULT '{}'::jsonb,
  first_sign_in_at timestamptz,
  last_sign_in_at  timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per login: the refresh-token family (RFC 9700 §4.14.2).
CREATE TABLE offchain.sessions (
  id             uuid PRIMARY KEY,
  address        text NOT NULL REFERENCES offchain.users(address) ON DELETE CASCADE,
  chain_id       integer NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text,
  user_agent     text,
  ip             text
);
CREATE INDEX sessions_address_idx ON offchain.sessions (address);

-- Refresh tokens are opaque; only their SHA-256 is stored. Rotated on every use.
CREATE TABLE offchain.refresh_tokens (
  token_hash  text PRIMARY KEY,
  session_id  uuid NOT NULL REFERENCES offchain.sessions(id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  replaced_by text
);
CREATE INDEX refresh_tokens_session_idx ON offchain.refresh_tokens (session_id);

CREATE TABLE offchain.api_keys (
  id           uuid PRIMARY KEY,
  name         text NOT NULL,
  prefix       text NOT NULL,                      -- first characters, shown in listings
  key_hash     text NOT NULL UNIQUE,               -- SHA-256 of the whole key
  roles        text[] NOT NULL,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);

CREATE TABLE offchain.audit_log (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  actor   text NOT NULL,
  action  text NOT NULL,
  subject text NOT NULL,
  detail  jsonb NOT NULL DEFAULT '{}'::jsonb
);
