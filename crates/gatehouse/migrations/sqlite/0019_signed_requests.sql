-- Gatehouse schema, version 19: clients whose authorization requests must be signed.
--
-- RFC 9101 §10.5 (require_signed_request_object): its authorization requests come as request
-- objects signed with its keys, or are refused.
ALTER TABLE client ADD COLUMN require_signed_request_object INTEGER NOT NULL DEFAULT 0
    CHECK (require_signed_request_object IN (0, 1));
