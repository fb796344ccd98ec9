-- Gatehouse schema, version 1. Secrets (codes, tokens, session ids, client secrets) are stored
-- only as SHA-256 hashes; passwords as argon2id PHC strings.

CREATE TABLE user_account (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    name          TEXT,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE client (
    client_id                 TEXT PRIMARY KEY,
    secret_hash               TEXT,
    redirect_uris             TEXT NOT NULL, -- JSON array
    post_logout_redirect_uris TEXT NOT NULL, -- JSON array
    scopes                    TEXT NOT NULL, -- JSON array
    grant_types               TEXT NOT NULL, -- JSON array
    first_party               INTEGER NOT NULL,
    created_at                INTEGER NOT NULL
) STRICT;

CREATE TABLE session (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    auth_time  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX session_user ON session(user_id);

-- Tokens issued from one authorization code share a family; reuse of a rotated refresh token
-- or replay of the code revokes the whole family.
CREATE TABLE token_family (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    nonce          TEXT,
    auth_time      INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_reason TEXT
) STRICT;
CREATE INDEX token_family_user ON token_family(user_id);

CREATE TABLE authorization_code (
    code_hash      TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    auth_time      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    family_id      TEXT REFERENCES token_family(id) ON DELETE SET NULL
) STRICT;

CREATE TABLE refresh_token (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES token_family(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER
) STRICT;
CREATE INDEX refresh_token_family ON refresh_token(family_id);

CREATE TABLE access_token (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES token_family(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX access_token_family ON access_token(family_id);

CREATE TABLE signing_key (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    private_der   BLOB NOT NULL,
    public_jwk    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    retired_at    INTEGER,
    publish_until INTEGER
) STRICT;
