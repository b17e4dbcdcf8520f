-- Accounts, their one-time codes, sessions, and the SMS delivery queue.
-- Times are Unix milliseconds (UTC).

CREATE TABLE accounts (
    id                INTEGER PRIMARY KEY,
    email             TEXT    NOT NULL,
    email_normalized  TEXT    NOT NULL UNIQUE,
    password_hash     TEXT    NOT NULL,
    phone_e164        TEXT    NOT NULL,
    first_name        TEXT    NOT NULL,
    last_name         TEXT    NOT NULL,
    failed_logins     INTEGER NOT NULL DEFAULT 0,
    locked_at         INTEGER,
    last_login_at     INTEGER,
    previous_login_at INTEGER,
    created_at        INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);

-- At most one live code per account and purpose: issuing a new one replaces the old,
-- using or spending one deletes it.
CREATE TABLE verification_codes (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL,
    code_hash  BLOB    NOT NULL,
    tries_left INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, purpose)
);

CREATE TABLE sessions (
    token_hash   BLOB    PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    client_ip    TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_by_account ON sessions(account_id);

-- The durable delivery queue. A message is written in the same transaction as the code it
-- carries; the worker claims it, sends it, and records the outcome. Rows are never deleted;
-- the body is cleared once the message is sent or has failed for good. A `decoy` row stands for
-- a request that sends nothing (an unknown email): it is never sent, but the send limits count
-- it like a real message, so that their answers do not reveal which emails have accounts.
CREATE TABLE sms_messages (
    id                  INTEGER PRIMARY KEY,
    account_id          INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    to_phone            TEXT    NOT NULL,
    body                TEXT,
    purpose             TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'decoy')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    provider            TEXT,
    provider_message_id TEXT,
    last_error          TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    next_attempt_at     INTEGER NOT NULL,
    sent_at             INTEGER
);
CREATE INDEX sms_messages_due ON sms_messages(status, next_attempt_at);

-- What the development outbox "sent": read at /dev/outbox.
CREATE TABLE dev_outbox (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL,
    to_phone   TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    purpose    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
