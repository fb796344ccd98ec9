-- A person's own recent activity on their account page: the records about them (by username)
-- of the kinds they are shown, newest first, without reading the records of every token.
CREATE INDEX audit_event_subject ON audit_event(subject, kind, id);
