-- Gatehouse schema, version 22: claims about the user in a client's access tokens.
--
-- Which of the claims its granted scopes release a client's access tokens carry (a JSON list):
-- in a JWT access token (RFC 9068 §2.2.3) and in introspection's answer (RFC 7662 §2.2). NULL:
-- none, as before.
ALTER TABLE client ADD COLUMN access_token_claims TEXT;
