-- Gatehouse schema, version 6: clients as people see them (a display name, a logo, a home
-- page), and the secret a rotation replaced, still accepted until the end of its overlap.
ALTER TABLE client ADD COLUMN display_name TEXT;
ALTER TABLE client ADD COLUMN logo_uri TEXT;
ALTER TABLE client ADD COLUMN home_uri TEXT;
ALTER TABLE client ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE client ADD COLUMN previous_secret_until INTEGER;
-- Which of the claims its granted scopes release a client gets in the ID token (a JSON list); NULL:
-- all of them (they are at /userinfo either way).
ALTER TABLE client ADD COLUMN id_token_claims TEXT;
