-- The loan book as the events describe it, restatable: every table holds the current truth
-- (corrections replace), and officer_days is recomputed from it for any day.
CREATE TABLE {schema}.clients (
    client_id     text        PRIMARY KEY,
    registered_on date        NOT NULL,
    exited_on     date,
    occurred_at   timestamptz NOT NULL
);

-- Who owns a client from which day on: the registration and each reassignment. The owner on day d is the
-- row with the latest valid_from <= d.
CREATE TABLE {schema}.client_owners (
    client_id       text        NOT NULL,
    valid_from      date        NOT NULL,
    officer_id      text        NOT NULL,
    is_registration boolean     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    PRIMARY KEY (client_id, valid_from)
);
CREATE INDEX client_owners_officer ON {schema}.client_owners (officer_id);

CREATE TABLE {schema}.loans (
    loan_id        text          PRIMARY KEY,
    client_id      text          NOT NULL,
    disbursed_on   date          NOT NULL,
    principal      numeric(20,4) NOT NULL,
    written_off_on date,
    repaid_on      date,          -- the day cumulative principal paid reached the principal
    occurred_at    timestamptz   NOT NULL
);
CREATE INDEX loans_client ON {schema}.loans (client_id);

CREATE TABLE {schema}.installments (
    loan_id    text          NOT NULL,
    seq        integer       NOT NULL,
    due_on     date          NOT NULL,
    principal  numeric(20,4) NOT NULL,
    interest   numeric(20,4) NOT NULL,
    amount     numeric(20,4) NOT NULL,  -- principal + interest
    cum_amount numeric(24,4) NOT NULL,  -- Σ amount of this and the earlier installments: coverage in due order
    PRIMARY KEY (loan_id, seq)
);
CREATE INDEX installments_due ON {schema}.installments (due_on);

CREATE TABLE {schema}.payments (
    payment_id  text          PRIMARY KEY,
    loan_id     text          NOT NULL,
    paid_on     date          NOT NULL,
    principal   numeric(20,4) NOT NULL,
    interest    numeric(20,4) NOT NULL,
    fees        numeric(20,4) NOT NULL,
    occurred_at timestamptz   NOT NULL
);
CREATE INDEX payments_loan ON {schema}.payments (loan_id, paid_on);
CREATE INDEX payments_day ON {schema}.payments (paid_on);

-- One row per officer and day from the officer's first day with a client: the day's stocks and flows,
-- the cumulative sums that make every window an O(1) difference, and the published revision.
CREATE TABLE {schema}.officer_days (
    officer_id            text        NOT NULL,
    business_date         date        NOT NULL,
    revision              integer     NOT NULL DEFAULT 1,
    branch_id             text,
    officer_name          text,
    has_clients           boolean     NOT NULL,
    total_clients         integer     NOT NULL,
    active_clients        integer     NOT NULL,
    active_loans          integer     NOT NULL,
    glp                   numeric     NOT NULL,
    par30_balance         numeric     NOT NULL,
    par60_balance         numeric     NOT NULL,
    par90_balance         numeric     NOT NULL,
    due_30d               numeric     NOT NULL,
    covered_30d           numeric     NOT NULL,
    -- flows of the day (owner on the day)
    disbursed_count       integer     NOT NULL,
    disbursed             numeric     NOT NULL,
    collected             numeric     NOT NULL,
    interest_fees         numeric     NOT NULL,
    written_off           numeric     NOT NULL,
    registered            integer     NOT NULL,
    exited                integer     NOT NULL,
    -- cumulative to date
    cum_loans             integer     NOT NULL,
    cum_disbursed         numeric     NOT NULL,
    cum_collected         numeric     NOT NULL,
    cum_interest_fees     numeric     NOT NULL,
    cum_written_off       numeric     NOT NULL,
    cum_registered        integer     NOT NULL,
    cum_exited            integer     NOT NULL,
    cum_glp               numeric     NOT NULL,
    first_positive_glp_on date,
    -- windows (derived from the cumulative columns of this and earlier rows)
    glp_30d_ago           numeric     NOT NULL,
    new_clients_30d       integer     NOT NULL,
    exited_clients_30d    integer     NOT NULL,
    window_days           integer     NOT NULL,
    glp_sum_window        numeric     NOT NULL,
    written_off_window    numeric     NOT NULL,
    interest_fees_window  numeric     NOT NULL,
    computed_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (officer_id, business_date)
);

-- The days closed so far (one row), and officers whose history must be recomputed from a day on.
CREATE TABLE {schema}.loan_calendar (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_closed_on date
);
INSERT INTO {schema}.loan_calendar (id, last_closed_on) VALUES (true, NULL);

CREATE TABLE {schema}.restatements (
    officer_id text PRIMARY KEY,
    from_date  date NOT NULL
);
