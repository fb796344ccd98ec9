-- Gatehouse schema, version 23: access tokens stored in the order they are issued.
--
-- An access token now starts with the time it was issued, and is stored under its hash behind
-- that time (oidc::tokens::key), so the tokens of one commit share the last page or two of the
-- table instead of each going to a random page; tokens of earlier releases keep their keys
-- (their hash alone) until they expire. The table is keyed by that key alone (WITHOUT ROWID:
-- one b-tree instead of a table and its key's index).
--
-- Nor does each token go into an index by family any more: that index, random as the hashes,
-- served the cascade from a family and the sweep of families. An access token is valid only
-- while its family's row exists and is not revoked (every lookup joins it), so a token whose
-- family is gone is unknown and is swept at its expiry; and the family keeps the expiry of its
-- last access token, so the sweep does not remove a family while one is valid.
ALTER TABLE token_family ADD COLUMN access_expires_at INTEGER;
UPDATE token_family SET access_expires_at = last.at
     FROM (SELECT family_id, max(expires_at) AS at FROM access_token GROUP BY family_id) AS last
     WHERE last.family_id = token_family.id;

CREATE TABLE access_token_by_key (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT, WITHOUT ROWID;
INSERT INTO access_token_by_key (token_hash, family_id, scope, created_at, expires_at, revoked_at)
SELECT token_hash, family_id, scope, created_at, expires_at, revoked_at FROM access_token;
DROP TABLE access_token;
ALTER TABLE access_token_by_key RENAME TO access_token;
CREATE INDEX access_token_expires ON access_token(expires_at);
