-- Records of tokens issued (`token.issued`, one a refresh: nearly all of the log) are kept for
-- a retention of their own (--token-audit-retention-days), usually shorter than the rest's.
-- The index by time is split in two by that kind, so each sweep reads only the records it may
-- delete, never past those of the other kind kept longer, and a record still costs one entry
-- in one index.
DROP INDEX audit_event_at;
CREATE INDEX audit_event_at ON audit_event(at) WHERE kind <> 'token.issued';
CREATE INDEX audit_event_token_at ON audit_event(at) WHERE kind = 'token.issued';
