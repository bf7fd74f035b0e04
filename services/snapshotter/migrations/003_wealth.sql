CREATE TABLE {schema}.wealth_clients (
    client_id     text        PRIMARY KEY,
    name          text        NOT NULL,
    base_currency text,
    occurred_at   timestamptz NOT NULL
);

-- The valuation of each client and date in force (the latest by occurred_at), summarised, and the revision
-- of the wealth_snapshot.created last published for it.
CREATE TABLE {schema}.valuations (
    client_id               text        NOT NULL,
    as_of                   date        NOT NULL,
    occurred_at             timestamptz NOT NULL,
    revision                integer     NOT NULL DEFAULT 0,
    total_value             numeric     NOT NULL,
    estimated_annual_income numeric     NOT NULL,
    asset_allocation        jsonb       NOT NULL,
    custodian_allocation    jsonb       NOT NULL,
    bond_maturity           jsonb       NOT NULL,
    PRIMARY KEY (client_id, as_of)
);

-- Every cash flow (a correction with the same flow_id replaces it); only contributions and withdrawals
-- are external flows.
CREATE TABLE {schema}.cash_flows (
    flow_id     text        PRIMARY KEY,
    client_id   text        NOT NULL,
    flow_date   date        NOT NULL,
    amount      numeric     NOT NULL,
    kind        text        NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX cash_flows_client_date ON {schema}.cash_flows (client_id, flow_date);
