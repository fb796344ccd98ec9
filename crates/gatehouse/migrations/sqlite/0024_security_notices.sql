-- Gatehouse schema, version 24: security notices.
--
-- A mail telling a person of a change to their account (a password, a second factor, a
-- passkey, an address; auth::notices), queued in the transaction that makes the change, sent
-- by a sender on every instance with retries, and forgotten once sent, given up, or a day old
-- (expires_at). The address is the one the person had when the change was made; the words are
-- chosen when it is sent, in the person's language then. next_attempt_at is also the lease of
-- the sender that claimed it.
CREATE TABLE security_notice (
    id              INTEGER PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    detail          TEXT,
    ip              TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL
) STRICT;
CREATE INDEX security_notice_due ON security_notice(next_attempt_at);
CREATE INDEX security_notice_expires ON security_notice(expires_at);
CREATE INDEX security_notice_user ON security_notice(user_id);
