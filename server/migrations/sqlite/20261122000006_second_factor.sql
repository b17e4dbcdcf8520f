-- Phone verification, a code at every sign-in, phone change, and the admin area.

-- When the phone number was last proven with a code; NULL: never (the signup is unfinished and
-- the account cannot sign in). Accounts from before verification existed count as verified.
ALTER TABLE accounts ADD COLUMN phone_verified_at INTEGER;
UPDATE accounts SET phone_verified_at = created_at;

-- The account's own choice of a code at every sign-in: 1 on, 0 off, NULL the deployment default.
ALTER TABLE accounts ADD COLUMN sign_in_code INTEGER CHECK (sign_in_code IS NULL OR sign_in_code IN (0, 1));

ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin'));

-- The number a phone change is waiting to confirm (its code went there).
ALTER TABLE accounts ADD COLUMN pending_phone_e164 TEXT;

-- 1 after an admin forced a password reset: the password no longer signs in until it is reset.
ALTER TABLE accounts ADD COLUMN must_reset_password INTEGER NOT NULL DEFAULT 0
    CHECK (must_reset_password IN (0, 1));

-- Until when this session may use the admin area (after an admin step-up code).
ALTER TABLE sessions ADD COLUMN elevated_until INTEGER;

-- The admin who acted, for events an admin caused on someone's account.
ALTER TABLE audit_events ADD COLUMN actor_id INTEGER;

-- A right password whose sign-in waits for a code (a sign-in code, or the phone verification of an
-- unfinished signup). Keyed by the hash of the token in the browser's pending cookie.
CREATE TABLE pending_sign_ins (
    token_hash BLOB    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX pending_sign_ins_by_account ON pending_sign_ins(account_id);
CREATE INDEX pending_sign_ins_by_expiry ON pending_sign_ins(expires_at);
CREATE INDEX sms_messages_by_sent_at ON sms_messages(status, sent_at);
