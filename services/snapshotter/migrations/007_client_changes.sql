-- The loan book as a ledger: what each client changes in its officer's stocks and flows on each day, so that
-- closing a day sums that day's rows onto the day before instead of recomputing every live loan from its
-- history. The ledger is derived from the book (`loans/ledger.py`), complete through the last closed day:
-- a close extends it to the day it closes, and the clients ingest marks stale are rewritten from a day on.
CREATE TABLE {schema}.client_changes (
    client_id       text    NOT NULL,
    business_date   date    NOT NULL,
    officer_id      text    NOT NULL,
    moved           boolean NOT NULL,  -- the client came to or left the officer that day (rows may be zero)
    -- changes in the stocks
    total_clients   integer NOT NULL,
    active_clients  integer NOT NULL,
    active_loans    integer NOT NULL,
    glp             numeric NOT NULL,
    par30_balance   numeric NOT NULL,
    par60_balance   numeric NOT NULL,
    par90_balance   numeric NOT NULL,
    due_30d         numeric NOT NULL,
    covered_30d     numeric NOT NULL,
    -- the day's flows
    disbursed_count integer NOT NULL,
    disbursed       numeric NOT NULL,
    collected       numeric NOT NULL,
    interest_fees   numeric NOT NULL,
    written_off     numeric NOT NULL,
    registered      integer NOT NULL,
    exited          integer NOT NULL,
    PRIMARY KEY (client_id, business_date, officer_id)
);
CREATE INDEX client_changes_day ON {schema}.client_changes (business_date, officer_id);

-- Clients whose ledger rows from a day on no longer match the book. Ingest only appends (so it never waits
-- for a close holding the rows it consumed); the close takes and deletes them in one statement.
CREATE TABLE {schema}.stale_clients (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id text   NOT NULL,
    from_date date   NOT NULL
);
INSERT INTO {schema}.stale_clients (client_id, from_date)
SELECT client_id, '0001-01-01'::date FROM (
    SELECT client_id FROM {schema}.clients UNION SELECT client_id FROM {schema}.loans
) c;

-- Each loan's oldest installment left uncovered on the last day the ledger was written for it (NULL: none, or
-- the loan is not active): it crosses a PAR threshold 31, 61 and 91 days after that due day without any event.
CREATE TABLE {schema}.loan_arrears (
    loan_id    text PRIMARY KEY,
    client_id  text NOT NULL,
    oldest_due date
);
CREATE INDEX loan_arrears_oldest_due ON {schema}.loan_arrears (oldest_due) WHERE oldest_due IS NOT NULL;

-- What a close extending the ledger looks up: the clients with something on the days it closes.
CREATE INDEX loans_disbursed ON {schema}.loans (disbursed_on);
CREATE INDEX loans_written_off ON {schema}.loans (written_off_on) WHERE written_off_on IS NOT NULL;
CREATE INDEX clients_registered ON {schema}.clients (registered_on);
CREATE INDEX clients_exited ON {schema}.clients (exited_on) WHERE exited_on IS NOT NULL;
CREATE INDEX client_owners_valid_from ON {schema}.client_owners (valid_from);
