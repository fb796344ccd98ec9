-- Gatehouse schema, version 33: sign-up links for addresses at some domains.
--
-- A sign-up link may be limited to addresses at some domains (lower-case ASCII, separated by
-- spaces; empty: any, as every link made before). Each account it makes keeps the rule: it
-- signs in to applications only with a confirmed address at one of them.
ALTER TABLE signup_link ADD COLUMN domains TEXT NOT NULL DEFAULT '';

CREATE TABLE address_rule (
    user_id TEXT PRIMARY KEY REFERENCES user_account(id) ON DELETE CASCADE,
    domains TEXT NOT NULL CHECK (domains <> '')
) STRICT, WITHOUT ROWID;
