-- The officer directory (latest officer.upserted by occurred_at): whom to email.
CREATE TABLE {schema}.officers (
    officer_id  text        PRIMARY KEY,
    branch_id   text        NOT NULL,
    name        text        NOT NULL,
    email       text        NOT NULL,
    role        text        NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX officers_branch_role ON {schema}.officers (branch_id, role);

-- The latest figures evaluated per scope (rules run only on a scope's latest day, and the weekly summary
-- reads them).
CREATE TABLE {schema}.scope_days (
    scope         text        PRIMARY KEY,
    kind          text        NOT NULL,
    business_date date        NOT NULL,
    revision      integer     NOT NULL,
    branch_id     text,
    officer_id    text,
    officer_name  text,
    metrics       jsonb       NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Alert lifecycle: at most one open alert per scope and type.
CREATE TABLE {schema}.alerts (
    alert_id           text        PRIMARY KEY,
    scope              text        NOT NULL,
    alert_type         text        NOT NULL,
    severity           text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('open', 'resolved')),
    kind               text        NOT NULL,
    branch_id          text,
    officer_id         text,
    officer_name       text,
    business_date      date        NOT NULL,  -- the day it was raised
    last_business_date date        NOT NULL,  -- the last day it was evaluated
    revision           integer     NOT NULL,
    values             jsonb       NOT NULL,
    raised_at          timestamptz NOT NULL,
    resolved_at        timestamptz
);
CREATE UNIQUE INDEX alerts_one_open ON {schema}.alerts (scope, alert_type) WHERE status = 'open';

-- Notifications to deliver: written in the same transaction as the alert change they announce; a worker
-- delivers them with retries until `deadline`, then records them as failed.
CREATE TABLE {schema}.deliveries (
    delivery_id     text        PRIMARY KEY,
    alert_id        text        NOT NULL,
    alert_event     text        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient       text        NOT NULL,
    subject         text,
    body_text       text,
    body_html       text,
    payload         bytea,      -- the webhook body, signed as is
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    deadline        timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    failed_at       timestamptz
);
CREATE INDEX deliveries_due ON {schema}.deliveries (next_attempt_at) WHERE status = 'pending';

-- Weekly summaries sent (one per week start), so a restart sends none twice.
CREATE TABLE {schema}.weekly_summaries (
    week_start date        PRIMARY KEY,
    sent_at    timestamptz NOT NULL DEFAULT now()
);
