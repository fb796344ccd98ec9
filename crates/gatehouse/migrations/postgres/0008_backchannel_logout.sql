-- Gatehouse schema on PostgreSQL, version 8 (SQLite version 9): back-channel logout (OpenID
-- Connect Back-Channel Logout 1.0). A client may register a URI to be told when a sign-in
-- session it received an ID token in ends. Which clients a session signed in to is recorded
-- when a code of the session is redeemed; ending the session turns those rows into notices
-- (an outbox) in the same transaction, and a sender delivers them with retries, so a crash
-- loses none.
ALTER TABLE client ADD COLUMN backchannel_logout_uri TEXT;

CREATE TABLE session_client (
    session_id_hash TEXT NOT NULL REFERENCES session(id_hash) ON DELETE CASCADE,
    client_id       TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    PRIMARY KEY (session_id_hash, client_id)
);
CREATE INDEX session_client_client ON session_client(client_id);

-- The notices not yet delivered. The jti is fixed here, so every attempt sends the same one;
-- next_attempt_at is also the lease of the sender that claimed it.
CREATE TABLE logout_notice (
    id              BIGSERIAL PRIMARY KEY,
    client_id       TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    session_id_hash TEXT NOT NULL,
    jti             TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL
);
CREATE INDEX logout_notice_due ON logout_notice(next_attempt_at);
CREATE INDEX logout_notice_client ON logout_notice(client_id);
