-- The gateway's own state, beside its read-only view of the aggregator's read model.
-- A sign-in link (`pulse token --url`) is used once: its id is kept until well after it expires.
CREATE TABLE {schema}.signin_links (
    jti        text        PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signin_links_expiry ON {schema}.signin_links (expires_at);

-- Tokens refused before they expire (`pulse revoke`), by id; a row may go once its token has expired.
CREATE TABLE {schema}.revoked_tokens (
    jti        text        PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    revoked_by text        NOT NULL,
    reason     text
);
