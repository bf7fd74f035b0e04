-- The gateway's live pages (CONTRACT §6) learn that the read model changed from a notification on channel
-- pulse_read_model, whose payload is the area: 'loans', 'wealth' or 'alerts'. NOTIFY is transactional: it
-- is delivered when the transaction that changed the rows commits, never before the change is visible,
-- and once per area and transaction however many statements ran. A statement that changed no row (an
-- upsert whose WHERE kept the stored row) notifies nothing.
CREATE FUNCTION {schema}.notify_read_model() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        PERFORM pg_notify('pulse_read_model', TG_ARGV[0]);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER loan_summaries_inserted AFTER INSERT ON {schema}.loan_summaries
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_read_model('loans');
CREATE TRIGGER loan_summaries_updated AFTER UPDATE ON {schema}.loan_summaries
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_read_model('loans');
CREATE TRIGGER loan_summaries_deleted AFTER DELETE ON {schema}.loan_summaries
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_read_model('loans');

CREATE TRIGGER wealth_client_days_inserted AFTER INSERT ON {schema}.wealth_client_days
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_read_model('wealth');
CREATE TRIGGER wealth_client_days_updated AFTER UPDATE ON {schema}.wealth_client_days
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_read_model('wealth');
CREATE TRIGGER wealth_client_days_deleted AFTER DELETE ON {schema}.wealth_client_days
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_read_model('wealth');
CREATE TRIGGER wealth_date_totals_inserted AFTER INSERT ON {schema}.wealth_date_totals
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_read_model('wealth');
CREATE TRIGGER wealth_date_totals_updated AFTER UPDATE ON {schema}.wealth_date_totals
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_read_model('wealth');
CREATE TRIGGER wealth_date_totals_deleted AFTER DELETE ON {schema}.wealth_date_totals
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_read_model('wealth');

CREATE TRIGGER alerts_inserted AFTER INSERT ON {schema}.alerts
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_read_model('alerts');
CREATE TRIGGER alerts_updated AFTER UPDATE ON {schema}.alerts
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_read_model('alerts');
