-- Gatehouse schema on PostgreSQL, version 23: changes to clients are announced.
--
-- Each instance keeps the clients it authenticates in memory while it listens on this channel;
-- a change or removal of a client, made by any instance, the CLI or by hand, tells every
-- listening instance to forget it once the change commits.
CREATE FUNCTION gatehouse_client_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gatehouse_client_changed', OLD.client_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER client_changed AFTER UPDATE OR DELETE ON client
    FOR EACH ROW EXECUTE FUNCTION gatehouse_client_changed();
