-- Browsers that completed a sign-in to an account: each holds a random token in its device cookie,
-- and only the token's SHA-256 is kept here. A trusted browser signs in past a lock that others'
-- failures caused; its own wrong passwords count here, against it alone, and end its trust at the
-- lockout threshold. A password reset forgets every one. `network` is the client network (IPv4
-- address or IPv6 network) it last signed in from: a browser on that network, trusted or not, may
-- draw on the account's reserve of codes (see `auth::send_limits`).
CREATE TABLE trusted_devices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    token_hash   BLOB UNIQUE NOT NULL,
    user_agent   TEXT,
    network      TEXT,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX trusted_devices_by_account ON trusted_devices(account_id);
