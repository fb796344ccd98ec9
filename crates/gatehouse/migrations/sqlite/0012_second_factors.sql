-- Gatehouse schema, version 12: second factors (authenticator apps, recovery codes, passkeys)
-- and authentication policies.
--
-- A person's authenticator app (RFC 6238): the shared secret and the last time step a code was
-- accepted for, so no code is accepted twice. One app per person.
CREATE TABLE totp_factor (
    user_id    TEXT PRIMARY KEY REFERENCES user_account(id) ON DELETE CASCADE,
    secret     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    last_step  INTEGER
) WITHOUT ROWID;
-- Recovery codes, as SHA-256 hashes of their canonical form; a used code's row is deleted.
CREATE TABLE recovery_code (
    user_id    TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;
-- How each sign-in was made (RFC 8176 methods, space-separated), carried into what it issues:
-- every one before this version was made with a password.
ALTER TABLE session ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE authorization_code ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE token_family ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE device_authorization ADD COLUMN amr TEXT;
-- What a sign-in must prove to use a client, and what a group's members must prove to sign in
-- anywhere: 'password', 'two_factor' or 'passkey' (model::AuthPolicy; no CHECK, so a later
-- policy needs no table rebuild on SQLite).
ALTER TABLE client ADD COLUMN auth_policy TEXT NOT NULL DEFAULT 'password';
ALTER TABLE user_group ADD COLUMN auth_policy TEXT NOT NULL DEFAULT 'password';
-- Passkeys (WebAuthn): a person's credentials, each named, with the state the WebAuthn library
-- keeps of it (public key, signature counter, backup state) as JSON. A credential id belongs
-- to one account only.
CREATE TABLE passkey (
    credential_id TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    data          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX passkey_user ON passkey(user_id);
-- A WebAuthn ceremony in progress: the challenge's state, kept server-side and taken once, so
-- a replayed response finds nothing. Its id is given to the browser, stored hashed.
CREATE TABLE webauthn_challenge (
    id_hash    TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('register', 'authenticate')),
    user_id    TEXT REFERENCES user_account(id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX webauthn_challenge_expires ON webauthn_challenge(expires_at);
