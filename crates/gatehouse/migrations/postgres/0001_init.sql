-- Gatehouse schema on PostgreSQL: the same tables as the SQLite schema (versions 1 and 2).
-- Secrets (codes, tokens, session ids, client secrets) are stored only as SHA-256 hashes;
-- passwords as argon2id PHC strings. Times are Unix seconds.

CREATE TABLE user_account (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    name          TEXT,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE client (
    client_id                 TEXT PRIMARY KEY,
    secret_hash               TEXT,
    redirect_uris             TEXT[] NOT NULL,
    post_logout_redirect_uris TEXT[] NOT NULL,
    scopes                    TEXT[] NOT NULL,
    grant_types               TEXT[] NOT NULL,
    first_party               BOOLEAN NOT NULL,
    created_at                BIGINT NOT NULL
);

CREATE TABLE session (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    auth_time    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX session_user_id_idx ON session(user_id);
CREATE INDEX session_expires ON session(expires_at);

-- Tokens issued from one authorization code share a family; reuse of a rotated refresh token
-- or replay of the code revokes the whole family.
CREATE TABLE token_family (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    nonce          TEXT,
    auth_time      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_reason TEXT
);
CREATE INDEX token_family_user ON token_family(user_id);
CREATE INDEX token_family_client ON token_family(client_id);

CREATE TABLE authorization_code (
    code_hash      TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    auth_time      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    family_id      TEXT REFERENCES token_family(id) ON DELETE SET NULL
);
CREATE INDEX authorization_code_expires ON authorization_code(expires_at);
CREATE INDEX authorization_code_family ON authorization_code(family_id);

CREATE TABLE refresh_token (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES token_family(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT
);
CREATE INDEX refresh_token_family ON refresh_token(family_id);
CREATE INDEX refresh_token_expires ON refresh_token(expires_at);

CREATE TABLE access_token (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES token_family(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_token_family ON access_token(family_id);
CREATE INDEX access_token_expires ON access_token(expires_at);

-- Access tokens of the client_credentials grant: they act for the client itself.
CREATE TABLE client_token (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX client_token_client ON client_token(client_id);
CREATE INDEX client_token_expires ON client_token(expires_at);

CREATE TABLE signing_key (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    private_der   BYTEA NOT NULL,
    public_jwk    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    retired_at    BIGINT,
    publish_until BIGINT
);

CREATE TABLE consent (
    user_id    TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE login_throttle (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until   BIGINT NOT NULL
);

CREATE TABLE audit_event (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    subject   TEXT,
    client_id TEXT,
    ip        TEXT,
    detail    TEXT
);
CREATE INDEX audit_event_at ON audit_event(at);

CREATE TABLE heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL
);
