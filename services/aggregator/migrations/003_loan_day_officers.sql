-- How many officer rows each day has (from the snapshots themselves): a day's branch and all-portfolio
-- figures are built only once all of them are here, never from a partial set of officers.
CREATE TABLE {schema}.loan_day_officers (
    business_date date    PRIMARY KEY,
    expected      integer NOT NULL
);
