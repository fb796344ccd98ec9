-- Gatehouse schema on PostgreSQL, version 3 (SQLite version 4): groups of users, and which
-- groups may use a client.

-- A named set of users. The id is stable, so a rename keeps the members and every reference.
CREATE TABLE user_group (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  BIGINT NOT NULL
);

-- Who is in which group. Deleting a group or a user removes their memberships.
CREATE TABLE group_member (
    group_id TEXT NOT NULL REFERENCES user_group(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

-- A user's groups, for the groups claim and access checks at every sign-in and refresh.
CREATE INDEX group_member_user ON group_member(user_id, group_id);

-- Which groups may use a client: a client with none is open to every user; a client with some
-- only to their members. A group that decides access cannot be deleted until it is taken off
-- its clients (RESTRICT): deleting it would open the client to everyone.
CREATE TABLE client_access_group (
    client_id TEXT NOT NULL REFERENCES client(client_id) ON DELETE CASCADE,
    group_id  TEXT NOT NULL REFERENCES user_group(id) ON DELETE RESTRICT,
    PRIMARY KEY (client_id, group_id)
);
CREATE INDEX client_access_group_group ON client_access_group(group_id);
