-- The alerts read model the gateway serves (GET /v1/alerts): one row per alert (alert_id), built from the
-- `alerts` topic in whatever order its events arrive (services/aggregator/alerts/store.py):
-- - alert.raised keeps the highest revision's figures; business_date is the day it was raised (the
--   smallest business date any of its events carried), last_business_date that of the highest revision;
-- - alert.resolved (whose revision is above every raise of the alert) makes it 'resolved' for good;
-- - alert.acknowledged sets acknowledged (the earliest acknowledgement is kept).
-- An acknowledgement that arrives before its alert is kept as a *pending* row: only alert_id and the
-- acknowledged_* columns, status NULL and revision 0; the alert's first event fills it in. Readers select
-- `status IS NOT NULL`.
CREATE TABLE {schema}.alerts (
    alert_id           text        PRIMARY KEY,
    alert_type         text,
    severity           text        CHECK (severity IN ('critical', 'warning')),
    scope              text,
    kind               text        CHECK (kind IN ('all', 'branch', 'officer')),
    branch_id          text,
    officer_id         text,
    officer_name       text,
    business_date      date,       -- the day it was raised
    last_business_date date,       -- the day of its latest revision (a severity change, or the resolution)
    status             text        CHECK (status IN ('open', 'resolved')),  -- NULL: a pending acknowledgement
    raised_at          timestamptz,
    resolved_at        timestamptz,
    revision           integer     NOT NULL DEFAULT 0,
    values             jsonb,      -- the rule's figures, unrounded
    acknowledged       boolean     NOT NULL DEFAULT false,
    acknowledged_by    text,
    acknowledged_at    timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (
        status IS NULL
        OR (alert_type IS NOT NULL AND severity IS NOT NULL AND scope IS NOT NULL AND kind IS NOT NULL
            AND business_date IS NOT NULL AND last_business_date IS NOT NULL AND raised_at IS NOT NULL
            AND values IS NOT NULL AND revision >= 1)
    ),
    CHECK (acknowledged = (acknowledged_at IS NOT NULL))
);
CREATE INDEX alerts_status_raised ON {schema}.alerts (status, raised_at DESC, alert_id);
CREATE INDEX alerts_raised ON {schema}.alerts (raised_at DESC, alert_id) WHERE status IS NOT NULL;
CREATE INDEX alerts_branch ON {schema}.alerts (branch_id, raised_at DESC) WHERE status IS NOT NULL;
CREATE INDEX alerts_officer ON {schema}.alerts (officer_id, raised_at DESC) WHERE status IS NOT NULL;
CREATE INDEX alerts_scope ON {schema}.alerts (scope, raised_at DESC) WHERE status IS NOT NULL;
