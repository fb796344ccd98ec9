-- Gatehouse schema, version 3: the key of form tokens, refresh tokens that end with the
-- sign-in session they came from, and when a signing key starts signing.


-- Secrets of the deployment that every instance shares (the key of form tokens). Created on
-- first use; never exported, so a moved deployment starts with a new one (forms open at the
-- time of the move are shown as expired).
CREATE TABLE server_secret (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- The session a code was issued in. A token family without offline_access belongs to it and
-- is revoked when it ends; one with offline_access outlives it (OpenID Connect Core §11).
-- Codes and families of earlier versions have none, and keep working as before.
ALTER TABLE authorization_code ADD COLUMN session_id_hash TEXT;
ALTER TABLE token_family ADD COLUMN session_id_hash TEXT;
CREATE INDEX token_family_session ON token_family(session_id_hash)
    WHERE session_id_hash IS NOT NULL;

-- When a key starts signing. A new key is published first and signs only once relying parties'
-- cached copies of the key set have expired, so no token arrives signed by a key they do not
-- know yet. Keys of earlier versions sign from their creation.
ALTER TABLE signing_key ADD COLUMN signs_from INTEGER;
