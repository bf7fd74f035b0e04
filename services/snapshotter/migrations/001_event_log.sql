-- Every accepted inbound event, as received: the snapshotter's source of truth, from which its state
-- can be rebuilt and late events can restate history.
CREATE TABLE {schema}.event_log (
    event_id    text        PRIMARY KEY,
    topic       text        NOT NULL,
    event_type  text        NOT NULL,
    entity_key  text,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    data        jsonb       NOT NULL
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
