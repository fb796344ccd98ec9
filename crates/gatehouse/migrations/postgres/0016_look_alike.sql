-- Each username's look-alike key (its UTS #39 confusable skeleton, `auth::username`), so that a
-- new name is compared with the one or two that look like it through an index instead of with
-- every user. Computed in gatehouse, not in SQL: rows of earlier releases get theirs when the
-- store opens (`look_alike` is NULL until then).
ALTER TABLE user_account ADD COLUMN look_alike TEXT;
CREATE INDEX user_account_look_alike ON user_account(look_alike);
