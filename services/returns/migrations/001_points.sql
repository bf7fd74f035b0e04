-- Every client's snapshots as the snapshotter published them, the cumulative state after each (so any
-- window is a difference of two states), and the returns last published for it.
CREATE TABLE {schema}.points (
    client_id               text        NOT NULL,
    as_of                   date        NOT NULL,
    snapshot_revision       integer     NOT NULL,
    value                   numeric     NOT NULL,
    external_flows          jsonb       NOT NULL,  -- the period's [{"flow_id", "flow_date", "amount"}]
    estimated_annual_income numeric     NOT NULL,
    asset_allocation        jsonb       NOT NULL,
    custodian_allocation    jsonb       NOT NULL,
    bond_maturity           jsonb       NOT NULL,
    factor                  numeric,
    nulls                   integer,
    wipeouts                integer,
    cum_flows               numeric,
    cum_flow_days           numeric,
    revision                integer     NOT NULL DEFAULT 0,  -- of the returns.computed last published
    results                 jsonb,                            -- its data, to publish only what changed
    PRIMARY KEY (client_id, as_of)
);
