-- Each client's returns per snapshot date, as the returns service published them (latest revision wins).
CREATE TABLE {schema}.wealth_client_days (
    client_id                    text        NOT NULL,
    as_of                        date        NOT NULL,
    revision                     integer     NOT NULL,
    total_value                  numeric     NOT NULL,
    estimated_annual_income      numeric     NOT NULL,
    net_external_flows           numeric     NOT NULL,
    period_start_date            date,
    period_return_dollar         numeric     NOT NULL,
    period_return_percent        numeric,
    period_average_capital       numeric,
    month_start_date             date,
    monthly_return_dollar        numeric     NOT NULL,
    monthly_return_percent       numeric,
    monthly_average_capital      numeric,
    ytd_start_date               date,
    ytd_return_dollar            numeric     NOT NULL,
    ytd_return_percent           numeric,
    ytd_average_capital          numeric,
    inception_date               date,
    inception_dollar_performance numeric     NOT NULL,
    inception_return_pct         numeric,
    inception_average_capital    numeric,
    asset_allocation             jsonb       NOT NULL,  -- [{"name", "value"}]
    custodian_allocation         jsonb       NOT NULL,
    bond_maturity                jsonb       NOT NULL,  -- [{"year", "value"}]
    updated_at                   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, as_of)
);
CREATE INDEX wealth_client_days_as_of ON {schema}.wealth_client_days (as_of);

-- Running sums over the clients with a snapshot on each date: a client's new revision subtracts its old
-- contribution and adds the new one, so updating one client costs the same with 100 or 100,000 clients.
-- For each figure f: f_dollar = Σ gain; f_weighted = Σ cᵢ·rᵢ and f_capital = Σ cᵢ over clients with cᵢ > 0
-- and rᵢ not null; f_windows = clients that have a window for f (not "0 and 0").
CREATE TABLE {schema}.wealth_date_totals (
    as_of                   date        PRIMARY KEY,
    revision                integer     NOT NULL DEFAULT 1,
    client_count            integer     NOT NULL,
    total_aum               numeric     NOT NULL,
    estimated_annual_income numeric     NOT NULL,
    net_external_flows      numeric     NOT NULL,
    period_dollar           numeric     NOT NULL,
    period_weighted         numeric     NOT NULL,
    period_capital          numeric     NOT NULL,
    period_windows          integer     NOT NULL,
    monthly_dollar          numeric     NOT NULL,
    monthly_weighted        numeric     NOT NULL,
    monthly_capital         numeric     NOT NULL,
    monthly_windows         integer     NOT NULL,
    ytd_dollar              numeric     NOT NULL,
    ytd_weighted            numeric     NOT NULL,
    ytd_capital             numeric     NOT NULL,
    ytd_windows             integer     NOT NULL,
    inception_dollar        numeric     NOT NULL,
    inception_weighted      numeric     NOT NULL,
    inception_capital       numeric     NOT NULL,
    inception_windows       integer     NOT NULL,
    updated_at              timestamptz NOT NULL DEFAULT now()
);

-- Summed allocation values per date: dimension 'asset_class', 'custodian' or 'bond_year' (name = the year).
CREATE TABLE {schema}.wealth_date_allocations (
    as_of     date    NOT NULL,
    dimension text    NOT NULL CHECK (dimension IN ('asset_class', 'custodian', 'bond_year')),
    name      text    NOT NULL,
    value     numeric NOT NULL,
    PRIMARY KEY (as_of, dimension, name)
);
