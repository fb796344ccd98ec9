-- Gatehouse schema on PostgreSQL, version 24: access tokens stored in the order they are
-- issued.
--
-- An access token now starts with the time it was issued, and is stored under its hash behind
-- that time (oidc::tokens::key), so new keys go to the right-hand end of the primary key's
-- index instead of a random page of it; tokens of earlier releases keep their keys (their hash
-- alone) until they expire.
--
-- Nor does each token go into an index by family, or lock its family's row for a foreign key
-- check, any more. An access token is valid only while its family's row exists and is not
-- revoked (every lookup joins it), so a token whose family is gone is unknown and is swept at
-- its expiry; and the family keeps the expiry of its last access token, so the sweep does not
-- remove a family while one is valid.
ALTER TABLE token_family ADD COLUMN access_expires_at BIGINT;
UPDATE token_family f SET access_expires_at = last.at
    FROM (SELECT family_id, max(expires_at) AS at FROM access_token GROUP BY family_id) last
    WHERE last.family_id = f.id;
ALTER TABLE access_token DROP CONSTRAINT access_token_family_id_fkey;
DROP INDEX access_token_family;
