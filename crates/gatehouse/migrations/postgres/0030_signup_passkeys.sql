-- Gatehouse schema, version 30: signing up with a passkey.
--
-- A sign-up link's page may make the account with a passkey in place of a password. Its
-- WebAuthn ceremony begins before the account exists, so it is a ceremony of a kind of its
-- own, `signup`, with no user: its state names the account it is for and the link it came
-- from (auth::signup::Ceremony).
ALTER TABLE webauthn_challenge DROP CONSTRAINT webauthn_challenge_kind_check;
ALTER TABLE webauthn_challenge ADD CONSTRAINT webauthn_challenge_kind_check
    CHECK (kind IN ('register', 'authenticate', 'signup'));
