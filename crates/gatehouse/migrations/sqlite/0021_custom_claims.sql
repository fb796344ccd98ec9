-- Gatehouse schema, version 21: claims an administrator gives a user or a group.
--
-- Each is a claim name and its value as JSON text, released with the profile scope in ID
-- tokens and at /userinfo (oidc::claims::custom): a user's own before their groups'. They go
-- with their user or group.
CREATE TABLE user_claim (
    user_id TEXT NOT NULL REFERENCES user_account(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
) WITHOUT ROWID;
CREATE TABLE group_claim (
    group_id TEXT NOT NULL REFERENCES user_group(id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (group_id, name)
) WITHOUT ROWID;
