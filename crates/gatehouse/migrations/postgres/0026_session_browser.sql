-- Gatehouse schema on PostgreSQL, version 26: the browser and the address each session was signed in from.
--
-- Shown to the person on their account page, beside each of their sessions, so that they
-- recognise theirs and can end one they do not ("Firefox on Linux, from 203.0.113.7"); the
-- browser is the User-Agent as sent (at most 256 characters, described when shown:
-- auth::browsers). Both go with the session. Sessions of an earlier release have neither.
ALTER TABLE session ADD COLUMN user_agent TEXT;
ALTER TABLE session ADD COLUMN ip TEXT;
