-- Gatehouse schema on PostgreSQL, version 9 (SQLite version 10): a client may take its access
-- tokens as signed JWTs (RFC 9068) instead of opaque ones. A JWT access token is stored like an
-- opaque one (hashed, here under a key derived from its jti), so introspection and revocation
-- work for both.
ALTER TABLE client ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'opaque'
    CHECK (access_token_format IN ('opaque', 'jwt'));
