-- Gatehouse schema, version 26: the browser a person acted from, in the audit log, and the
-- browser each session belongs to.
--
-- A sign-in, a failed one, a change on the account page, a reset: the record of what a person
-- did in a browser keeps its User-Agent as sent (at most 256 characters, described when shown:
-- auth::browsers), beside the address it already keeps, so that a person reading their recent
-- activity, or an administrator the log, can tell "Firefox on Linux" from a stranger's phone.
-- Records of what applications and administrators' tools do keep none. Records of an earlier
-- release have none.
ALTER TABLE audit_event ADD COLUMN user_agent TEXT;

-- The browser a session was signed in from, as known_browser knows it (the hash of its
-- cookie), so that a session its person ends from another browser makes that browser new to
-- them again: if it signs in again, they are told. Sessions of an earlier release have none.
ALTER TABLE session ADD COLUMN browser_hash TEXT;
