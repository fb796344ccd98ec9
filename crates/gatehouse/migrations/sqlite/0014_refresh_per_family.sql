-- Reuse detection per token family, not per rotation (RFC 9700 §4.14.2).
--
-- A refresh token now names its family and carries a MAC under the deployment's key
-- (oidc::family_token). The family's row keeps the hash of its current token and, while a
-- retry of the rotation that made it may come, the token before it with that rotation's sealed
-- answer (oidc::retry); an older token is recognised by its MAC, so no row is kept per
-- rotation. refresh_token keeps the tokens of earlier releases until they are rotated (their
-- successor is of the new format) or expire.
ALTER TABLE token_family ADD COLUMN refresh_hash TEXT;
ALTER TABLE token_family ADD COLUMN refresh_scope TEXT;
ALTER TABLE token_family ADD COLUMN refresh_created_at INTEGER;
ALTER TABLE token_family ADD COLUMN refresh_expires_at INTEGER;
ALTER TABLE token_family ADD COLUMN previous_hash TEXT;
ALTER TABLE token_family ADD COLUMN previous_scope TEXT;
ALTER TABLE token_family ADD COLUMN previous_expires_at INTEGER;
ALTER TABLE token_family ADD COLUMN retry_sealed BLOB;
ALTER TABLE token_family ADD COLUMN retry_until INTEGER;
CREATE INDEX token_family_retry ON token_family(retry_until) WHERE retry_sealed IS NOT NULL;
