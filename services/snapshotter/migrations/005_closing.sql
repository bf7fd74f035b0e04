-- Several instances: a close first marks the days it is about to close (committed before it reads the book),
-- so that ingest running beside it queues restatements for them; and each restatement mark counts its
-- updates, so that the job deletes only the marks it has restated.
ALTER TABLE {schema}.loan_calendar ADD COLUMN closing_through date;
ALTER TABLE {schema}.restatements ADD COLUMN updates bigint NOT NULL DEFAULT 1;
