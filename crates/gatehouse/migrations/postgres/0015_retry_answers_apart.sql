-- The answer kept for a retry of a family's last rotation (oidc::retry), with the token that
-- rotation replaced, moves out of the family's row into a table of its own.
--
-- In the family's row, the partial index that finds the answers to clear (on retry_until,
-- where retry_sealed is set) changed with every rotation and again when the answer was
-- cleared, so neither update could be a heap-only (HOT) update: each wrote a new version of
-- the wide family row and an entry in each of the family's five indexes. A rotation now
-- changes no indexed column of token_family (updated in place, on the same page, with no index
-- entry), and writes the answer as a narrow row with two index entries, deleted by the sweep.
-- The family's pages keep a tenth free so that its rotations find room on their own page.
CREATE TABLE token_retry (
    family_id           TEXT PRIMARY KEY REFERENCES token_family(id) ON DELETE CASCADE,
    previous_hash       TEXT NOT NULL,
    previous_scope      TEXT NOT NULL,
    previous_expires_at BIGINT NOT NULL,
    retry_sealed        BYTEA NOT NULL,
    retry_until         BIGINT NOT NULL
);
CREATE INDEX token_retry_until ON token_retry(retry_until);

INSERT INTO token_retry
       (family_id, previous_hash, previous_scope, previous_expires_at, retry_sealed, retry_until)
SELECT id, previous_hash, previous_scope, previous_expires_at, retry_sealed, retry_until
FROM token_family
WHERE retry_sealed IS NOT NULL AND previous_hash IS NOT NULL AND previous_scope IS NOT NULL
  AND previous_expires_at IS NOT NULL AND retry_until IS NOT NULL;

DROP INDEX token_family_retry;
ALTER TABLE token_family
    DROP COLUMN previous_hash,
    DROP COLUMN previous_scope,
    DROP COLUMN previous_expires_at,
    DROP COLUMN retry_sealed,
    DROP COLUMN retry_until;
ALTER TABLE token_family SET (fillfactor = 90);
