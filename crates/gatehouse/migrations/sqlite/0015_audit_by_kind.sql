-- Records of tokens issued are kept for a retention of their own (--token-audit-retention-days),
-- usually shorter than the rest of the log's: the sweep deletes them by kind, oldest first,
-- without reading past the records of every other kind kept longer.
CREATE INDEX audit_event_kind_at ON audit_event(kind, at);
