-- Gatehouse schema, version 29: signing up with a passkey.
--
-- A sign-up link's page may make the account with a passkey in place of a password. Its
-- WebAuthn ceremony begins before the account exists, so it is a ceremony of a kind of its
-- own, `signup`, with no user: its state names the account it is for and the link it came
-- from (auth::signup::Ceremony). SQLite cannot change a CHECK in place, so the table is made
-- again with the new kind allowed and the ceremonies in progress copied into it.
CREATE TABLE webauthn_challenge_with_signup (
    id_hash    TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('register', 'authenticate', 'signup')),
    user_id    TEXT REFERENCES user_account(id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO webauthn_challenge_with_signup (id_hash, kind, user_id, state, expires_at)
SELECT id_hash, kind, user_id, state, expires_at FROM webauthn_challenge;
DROP TABLE webauthn_challenge;
ALTER TABLE webauthn_challenge_with_signup RENAME TO webauthn_challenge;
CREATE INDEX webauthn_challenge_expires ON webauthn_challenge(expires_at);
