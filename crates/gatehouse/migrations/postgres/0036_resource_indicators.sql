-- Gatehouse schema on PostgreSQL, version 36: resource indicators (RFC 8707).
--
-- The APIs a client's access tokens may be for (absolute URIs). NULL: none, as
-- before: its tokens are for the client itself, and a `resource` parameter is refused.
ALTER TABLE client ADD COLUMN resources TEXT[];
-- What a grant covers, as its request named it (`resource` at /authorize, /par or the device
-- authorization endpoint), separated by spaces; NULL: none. A token request narrows it.
ALTER TABLE authorization_code ADD COLUMN resources TEXT;
ALTER TABLE device_authorization ADD COLUMN resources TEXT;
ALTER TABLE token_family ADD COLUMN resources TEXT;
-- What one access token is for (its audience), separated by spaces; NULL: its client.
ALTER TABLE access_token ADD COLUMN resources TEXT;
ALTER TABLE client_token ADD COLUMN resources TEXT;
