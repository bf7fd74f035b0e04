-- Every accepted inbound event, byte for byte as received (the envelope): an audit trail from which the
-- snapshotter's state can be rebuilt. Stored raw: re-serialising every event would cost more than the rest
-- of its ingest.
CREATE TABLE {schema}.event_log (
    event_id    text        PRIMARY KEY,
    topic       text        NOT NULL,
    event_type  text        NOT NULL,
    entity_key  text,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    envelope    bytea       NOT NULL
);
CREATE INDEX event_log_entity ON {schema}.event_log (topic, entity_key, occurred_at);

-- The officer directory: branch and role from the latest `officer.upserted` by occurred_at.
CREATE TABLE {schema}.officers (
    officer_id  text        PRIMARY KEY,
    branch_id   text        NOT NULL,
    name        text        NOT NULL,
    email       text        NOT NULL,
    role        text        NOT NULL,
    occurred_at timestamptz NOT NULL
);
