-- Gatehouse schema, version 2: revocation, client credentials, idle session timeout, consent,
-- login throttling and the audit log.

-- RFC 7009: an access token can be revoked on its own, without its family.
ALTER TABLE access_token ADD COLUMN revoked_at INTEGER;

-- Access tokens of the client_credentials grant (RFC 6749 §4.4): they act for the client
-- itself, so they belong to no user and no refresh token family.
CREATE TABLE client_token (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX client_token_client ON client_token(client_id);

-- The idle timeout counts from the last time the session was used.
ALTER TABLE session ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
UPDATE session SET last_seen_at = auth_time;

-- What a user allowed a client to see; a request for more scopes asks again.
CREATE TABLE consent (
    user_id    TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;

-- Failed logins per key ('user:NAME' or 'ip:ADDRESS'); kept in the store so the counts hold
-- across restarts and across instances sharing a database.
CREATE TABLE login_throttle (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    blocked_until   INTEGER NOT NULL
) STRICT;

-- Append-only record of security-relevant events, newest last.
CREATE TABLE audit_event (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    subject   TEXT,
    client_id TEXT,
    ip        TEXT,
    detail    TEXT
) STRICT;
CREATE INDEX audit_event_at ON audit_event(at);

-- For the expiry sweep.
CREATE INDEX authorization_code_expires ON authorization_code(expires_at);
CREATE INDEX session_expires ON session(expires_at);
CREATE INDEX access_token_expires ON access_token(expires_at);
CREATE INDEX refresh_token_expires ON refresh_token(expires_at);
CREATE INDEX client_token_expires ON client_token(expires_at);

-- One row, rewritten by every readiness check: a check that writes nothing would pass on a
-- read-only file or a full disk.
CREATE TABLE heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
) STRICT;
