-- Security events: who did what, when, from where. Pruned after AUDIT_RETENTION.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    kind       TEXT    NOT NULL,
    detail     TEXT,
    client_ip  TEXT,
    user_agent TEXT
);
CREATE INDEX audit_events_by_account ON audit_events(account_id, at);
CREATE INDEX audit_events_by_time ON audit_events(at);

-- Failed sign-ins for emails with no account, keyed by HMAC(server secret, email), so that an
-- unknown email "locks" at the same failure as a real one and the two cannot be told apart.
CREATE TABLE unknown_login_failures (
    email_key  BLOB    PRIMARY KEY,
    failures   INTEGER NOT NULL,
    locked_at  INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE INDEX unknown_login_failures_by_time ON unknown_login_failures(updated_at);
