-- Officer rows as the snapshotter published them (latest revision wins): the numerators every branch and
-- all-portfolio figure is re-summed from. Rows with has_clients = false carry flows only.
CREATE TABLE {schema}.loan_officer_days (
    officer_id            text        NOT NULL,
    business_date         date        NOT NULL,
    revision              integer     NOT NULL,
    officer_name          text,
    branch_id             text,
    has_clients           boolean     NOT NULL,
    total_clients         integer     NOT NULL,
    active_clients        integer     NOT NULL,
    total_loans           integer     NOT NULL,
    active_loans          integer     NOT NULL,
    total_disbursed       numeric     NOT NULL,
    total_outstanding     numeric     NOT NULL,
    total_collected       numeric     NOT NULL,
    par30_balance         numeric     NOT NULL,
    par60_balance         numeric     NOT NULL,
    par90_balance         numeric     NOT NULL,
    due_30d               numeric     NOT NULL,
    covered_30d           numeric     NOT NULL,
    new_clients_30d       integer     NOT NULL,
    exited_clients_30d    integer     NOT NULL,
    glp_30d_ago           numeric     NOT NULL,
    glp_sum_window        numeric     NOT NULL,
    written_off_window    numeric     NOT NULL,
    interest_fees_window  numeric     NOT NULL,
    window_days           integer     NOT NULL,
    first_positive_glp_on date,
    cum_written_off       numeric     NOT NULL,
    cum_interest_fees     numeric     NOT NULL,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (officer_id, business_date)
);
CREATE INDEX loan_officer_days_date_branch ON {schema}.loan_officer_days (business_date, branch_id);

-- The loans read model the gateway serves: one row per scope and day. scope is 'all', 'branch:<id>' or
-- 'officer:<id>' (officer rows only on days the officer has a snapshot, i.e. has_clients).
CREATE TABLE {schema}.loan_summaries (
    scope              text        NOT NULL,
    business_date      date        NOT NULL,
    revision           integer     NOT NULL,
    kind               text        NOT NULL CHECK (kind IN ('all', 'branch', 'officer')),
    branch_id          text,
    officer_id         text,
    officer_name       text,
    total_clients      integer     NOT NULL,
    active_clients     integer     NOT NULL,
    total_loans        integer     NOT NULL,
    active_loans       integer     NOT NULL,
    total_disbursed    numeric     NOT NULL,
    total_outstanding  numeric     NOT NULL,
    total_collected    numeric     NOT NULL,
    par_30             numeric     NOT NULL,
    par_60             numeric     NOT NULL,
    par_90             numeric     NOT NULL,
    default_rate       numeric     NOT NULL,
    collection_rate    numeric     NOT NULL,
    portfolio_yield    numeric     NOT NULL,
    growth_rate        numeric     NOT NULL,
    new_clients_30d    integer     NOT NULL,
    exited_clients_30d integer     NOT NULL,
    health_score       numeric     NOT NULL,
    health_category    text        NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, business_date)
);
CREATE INDEX loan_summaries_officers ON {schema}.loan_summaries (business_date, kind, branch_id);
