-- Gatehouse schema on PostgreSQL, version 6 (SQLite version 7): ID tokens signed with ES256 or
-- EdDSA besides RS256. Each algorithm has its own keys (signing_key.alg already names it); a
-- client chooses which one signs its ID tokens (OpenID Connect Dynamic Client Registration §2),
-- RS256 unless it asks.
ALTER TABLE client ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (id_token_signed_response_alg IN ('RS256', 'ES256', 'EdDSA'));
