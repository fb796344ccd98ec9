-- Gatehouse schema on PostgreSQL, version 7 (SQLite version 8): idempotent refresh. A rotated
-- refresh token names its successor and keeps the answer its rotation gave (sealed with the
-- deployment's key) until retry_until, so a retry of the same request gets the same tokens
-- instead of revoking the family. The sweep clears the sealed answer once the window has passed.
ALTER TABLE refresh_token ADD COLUMN successor_hash TEXT;
ALTER TABLE refresh_token ADD COLUMN retry_sealed BYTEA;
ALTER TABLE refresh_token ADD COLUMN retry_until BIGINT;
CREATE INDEX refresh_token_retry ON refresh_token(retry_until) WHERE retry_sealed IS NOT NULL;
