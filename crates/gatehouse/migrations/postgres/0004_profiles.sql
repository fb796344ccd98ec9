-- Gatehouse schema on PostgreSQL, version 4 (SQLite version 5): what a person's profile says
-- (OpenID Connect Core §5.1), and whether their email address is known to be theirs. Accounts
-- of earlier versions have an unverified address and an empty profile.
ALTER TABLE user_account ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE user_account ADD COLUMN given_name TEXT;
ALTER TABLE user_account ADD COLUMN family_name TEXT;
ALTER TABLE user_account ADD COLUMN locale TEXT;
ALTER TABLE user_account ADD COLUMN picture TEXT;
-- When the profile last changed (the updated_at claim); NULL: not since the account was made.
ALTER TABLE user_account ADD COLUMN updated_at BIGINT;
