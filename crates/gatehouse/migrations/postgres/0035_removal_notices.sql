-- Gatehouse schema on PostgreSQL, version 35: a security notice may outlive the account it is
-- about.
--
-- Removing an account tells its person, at the address it had (auth::notices::for_removal).
-- That notice is sent after the account is gone, so it keeps the username and language its
-- words need (username, locale; NULL for a notice about an account that is still there, whose
-- are read when it is sent), and user_id no longer references user_account. Removing an
-- account deletes the other notices about it in the same transaction, as the reference's
-- cascade did.
ALTER TABLE security_notice DROP CONSTRAINT security_notice_user_id_fkey;
ALTER TABLE security_notice ADD COLUMN username TEXT, ADD COLUMN locale TEXT;
