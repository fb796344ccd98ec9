-- Gatehouse schema on PostgreSQL, version 32 (SQLite version 31): kept sessions.
--
-- A session whose person ticked "Keep me signed in" on the login form lasts as the deployment
-- keeps such sessions (`--kept-session-ttl`, `--kept-session-idle-timeout`); every session made
-- before is an ordinary one.
ALTER TABLE session ADD COLUMN kept BOOLEAN NOT NULL DEFAULT FALSE;
