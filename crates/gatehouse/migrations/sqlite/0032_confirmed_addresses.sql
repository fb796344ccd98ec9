-- Gatehouse schema, version 32: applications that require a confirmed address.
--
-- A client may require that the person signing in has confirmed their email address
-- (`email_verified`) before it is given anything; every client made before does not.
ALTER TABLE client ADD COLUMN require_confirmed_address INTEGER NOT NULL DEFAULT 0
    CHECK (require_confirmed_address IN (0, 1));
