-- Gatehouse schema, version 30: application logos.
--
-- The image an administrator gives an application, served by gatehouse itself
-- (`/clients/{client_id}/logo`) and shown with the application's name on the sign-in, consent,
-- device and account pages. Kept apart from `client`, so that reading a client never reads its
-- image.
-- `version` is the first 16 hex digits of the image's SHA-256: the pages name the image with
-- it, so a browser keeps each one until it changes.
CREATE TABLE client_logo (
    client_id    TEXT PRIMARY KEY REFERENCES client(client_id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    version      TEXT NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
