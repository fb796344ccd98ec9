-- Gatehouse schema, version 18: clients that authenticate with keys, and clients whose
-- authorization requests must be pushed.
--
-- A client registered with public keys (a JWK Set, as JSON) authenticates with a JWT signed by
-- one of their private halves (private_key_jwt, RFC 7523); it has no secret.
ALTER TABLE client ADD COLUMN jwks TEXT;
-- Or where it publishes them (an https URL), fetched when needed; never both.
ALTER TABLE client ADD COLUMN jwks_uri TEXT;
-- RFC 9126 §6: its authorization requests come through /par, or are refused.
ALTER TABLE client ADD COLUMN require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0
    CHECK (require_pushed_authorization_requests IN (0, 1));

-- The client assertions taken, by client and the hash of their jti, until they can no longer
-- be used: an assertion is taken once.
CREATE TABLE client_assertion (
    client_id  TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    jti_hash   TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti_hash)
) STRICT;
CREATE INDEX client_assertion_expires ON client_assertion(expires_at);
