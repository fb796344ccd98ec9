-- Gatehouse schema on PostgreSQL, version 25: security notices, and the browsers each person signs in with.
--
-- A mail telling a person of a change to their account (a password, a second factor, a
-- passkey, an address; auth::notices), queued in the transaction that makes the change, sent
-- by a sender on every instance with retries, and forgotten once sent, given up, or a day old
-- (expires_at). The address is the one the person had when the change was made; the words are
-- chosen when it is sent, in the person's language then. next_attempt_at is also the lease of
-- the sender that claimed it.
CREATE TABLE security_notice (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    detail          TEXT,
    ip              TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL
);
CREATE INDEX security_notice_due ON security_notice(next_attempt_at);
CREATE INDEX security_notice_expires ON security_notice(expires_at);
CREATE INDEX security_notice_user ON security_notice(user_id);

-- The browsers each person has signed in with, each known by the hash of a random value it
-- keeps in a cookie: a sign-in from a browser new to a person who has signed in before is told
-- to them (auth::notices::for_sign_in). Forgotten when unused for 400 days (the cookie lasts a
-- year from the last sign-in), or with the person.
CREATE TABLE known_browser (
    user_id       TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    browser_hash  TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, browser_hash)
);
CREATE INDEX known_browser_last_seen ON known_browser(last_seen_at);
