-- Gatehouse schema on PostgreSQL, version 19: clients whose authorization requests must be
-- signed.
--
-- RFC 9101 §10.5 (require_signed_request_object): its authorization requests come as request
-- objects signed with its keys, or are refused.
ALTER TABLE client ADD COLUMN require_signed_request_object BOOLEAN NOT NULL DEFAULT FALSE;
