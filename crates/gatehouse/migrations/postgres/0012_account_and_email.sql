-- The account page and email.
--
-- A person's own recent activity on their account page: the records about them (by username)
-- of the kinds they are shown, newest first, without reading the records of every token.
CREATE INDEX audit_event_subject ON audit_event(subject, kind, id);

-- Links sent by email (confirming an address, resetting a password): single use, kept as
-- hashes, for whom and to which address, until they expire.
CREATE TABLE email_token (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX email_token_user ON email_token(user_id, purpose);
CREATE INDEX email_token_expires ON email_token(expires_at);

-- A password reset asked for by address.
CREATE INDEX user_account_email ON user_account(lower(email));
