-- Mail waiting to be sent (an outbox): queued in the transaction that keeps the link it
-- carries, sent by a sender on every instance with retries, and forgotten once sent or given
-- up. It goes with its link: a link used, replaced or expired takes its message with it, so
-- the link's secret is held here no longer than the link works, and usually for a moment.
-- next_attempt_at is also the lease of the sender that claimed it.
CREATE TABLE mail_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash      TEXT NOT NULL REFERENCES email_token(token_hash) ON DELETE CASCADE,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at);
CREATE INDEX mail_outbox_token ON mail_outbox(token_hash);
