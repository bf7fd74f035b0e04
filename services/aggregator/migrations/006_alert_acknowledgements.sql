-- Every acknowledgement of an alert, for audit: who and when (the alerts row keeps only the earliest, which is
-- what readers see). An acknowledgement read again (a redelivery, a replay) adds nothing.
CREATE TABLE {schema}.alert_acknowledgements (
    alert_id         text        NOT NULL,
    acknowledged_at  timestamptz NOT NULL,
    acknowledged_by  text        NOT NULL,
    PRIMARY KEY (alert_id, acknowledged_at, acknowledged_by)
);
