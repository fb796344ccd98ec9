-- Gatehouse schema on PostgreSQL, version 10 (SQLite version 11): the device authorization
-- grant (RFC 8628). A device without a browser asks for a sign-in and polls; a person approves
-- it on another device by typing the user code. Both codes are stored as hashes. A row lives
-- until it is redeemed, refused, or expired and swept.
CREATE TABLE device_authorization (
    device_code_hash TEXT PRIMARY KEY,
    user_code_hash   TEXT NOT NULL UNIQUE,
    client_id        TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    scope            TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    poll_interval    BIGINT NOT NULL,
    last_polled_at   BIGINT,
    -- 'pending', 'approved' (by user_id, signed in at auth_time) or 'denied'.
    answer           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (answer IN ('pending', 'approved', 'denied')),
    user_id          TEXT REFERENCES user_account(id) ON DELETE CASCADE,
    auth_time        BIGINT
);
CREATE INDEX device_authorization_expires ON device_authorization(expires_at);
CREATE INDEX device_authorization_client ON device_authorization(client_id);
CREATE INDEX device_authorization_user ON device_authorization(user_id);
