-- Gatehouse schema, version 36: APIs that introspect the tokens issued for them.
--
-- The APIs a client answers for (a JSON list of absolute URIs, as a client's resources are
-- named): it may introspect (RFC 7662) an access token issued to any client for one of them.
-- NULL: none, as before: a client introspects its own tokens only.
ALTER TABLE client ADD COLUMN introspects TEXT;
