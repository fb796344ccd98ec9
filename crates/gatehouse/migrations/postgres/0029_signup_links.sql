-- Gatehouse schema on PostgreSQL, version 29 (SQLite version 28): sign-up links.
--
-- A link an administrator hands out, with which up to `max_uses` people each make their own
-- account until `expires_at`. Only its secret's hash is kept; `id` is what the administration
-- pages and the command line call it. `uses` is counted in the transaction that makes each
-- account, which holds the link's row.
CREATE TABLE signup_link (
    id          TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    note        TEXT NOT NULL,
    max_uses    INTEGER NOT NULL CHECK (max_uses > 0),
    uses        INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- The groups each person who signs up with a link is put in. A group deleted leaves the links
-- that named it (they put people in fewer groups, never more).
CREATE TABLE signup_link_group (
    link_id  TEXT NOT NULL REFERENCES signup_link(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES user_group(id) ON DELETE CASCADE,
    PRIMARY KEY (link_id, group_id)
);
CREATE INDEX signup_link_group_group ON signup_link_group(group_id);
