-- Gatehouse schema, version 34: a security notice may outlive the account it is about.
--
-- Removing an account tells its person, at the address it had (auth::notices::for_removal).
-- That notice is sent after the account is gone, so it keeps the username and language its
-- words need (username, locale; NULL for a notice about an account that is still there, whose
-- are read when it is sent), and user_id no longer references user_account. Removing an
-- account deletes the other notices about it in the same transaction, as the reference's
-- cascade did. SQLite cannot drop a reference from a table: it is made again, rows kept.
CREATE TABLE security_notice_kept (
    id              INTEGER PRIMARY KEY,
    user_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    detail          TEXT,
    ip              TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    username        TEXT,
    locale          TEXT
) STRICT;
INSERT INTO security_notice_kept
    (id, user_id, kind, recipient, detail, ip, created_at, expires_at, attempts, next_attempt_at)
SELECT id, user_id, kind, recipient, detail, ip, created_at, expires_at, attempts, next_attempt_at
FROM security_notice;
DROP TABLE security_notice;
ALTER TABLE security_notice_kept RENAME TO security_notice;
CREATE INDEX security_notice_due ON security_notice(next_attempt_at);
CREATE INDEX security_notice_expires ON security_notice(expires_at);
CREATE INDEX security_notice_user ON security_notice(user_id);
