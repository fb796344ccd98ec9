-- Gatehouse schema, version 27: pairwise subject identifiers (OpenID Connect Core §8.1).
--
-- The sector of a client given pairwise subjects: each person's `sub` for that client is an
-- HMAC of the sector and the person's id under a key of the deployment (server_secret
-- 'pairwise-subject'), so clients of one sector see one `sub` and no other client sees it.
-- NULL: the client is given the person's id, as before.
ALTER TABLE client ADD COLUMN pairwise_sector TEXT;
