-- What the rules need of a loan's payments when a batch asks only about days after the last of them (the
-- usual case), so that its whole payment history is not read back for every new payment.
ALTER TABLE {schema}.loans
    ADD COLUMN paid_principal numeric(20,4) NOT NULL DEFAULT 0,
    ADD COLUMN first_paid_on  date,
    ADD COLUMN last_paid_on   date;
UPDATE {schema}.loans l
SET paid_principal = p.principal, first_paid_on = p.first_on, last_paid_on = p.last_on
FROM (
    SELECT loan_id, sum(principal) AS principal, min(paid_on) AS first_on, max(paid_on) AS last_on
    FROM {schema}.payments GROUP BY loan_id
) p
WHERE p.loan_id = l.loan_id;
