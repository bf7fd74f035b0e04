-- Nothing reads event_log by entity: the index only cost every ingested event an index insert.
DROP INDEX IF EXISTS {schema}.event_log_entity;
