-- Mail waiting to be sent, and pushed authorization requests.
--
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

-- Pushed authorization requests (RFC 9126): the request a client sent to /par, kept by the
-- hash of the request_uri it got, until /authorize takes it (once) or it expires.
CREATE TABLE pushed_request (
    request_uri_hash TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    request          TEXT NOT NULL,
    expires_at       BIGINT NOT NULL
);
CREATE INDEX pushed_request_expires ON pushed_request(expires_at);
CREATE INDEX pushed_request_client ON pushed_request(client_id);
