-- Gatehouse schema on PostgreSQL, version 20: DPoP (RFC 9449).
--
-- RFC 9449 §5.2 (dpop_bound_access_tokens): the client's token requests carry a DPoP proof, or
-- are refused.
ALTER TABLE client ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
-- RFC 9449 §10: the thumbprint of the key the authorization request named (dpop_jkt); the code
-- is redeemed only with a proof of that key.
ALTER TABLE authorization_code ADD COLUMN dpop_jkt TEXT;
