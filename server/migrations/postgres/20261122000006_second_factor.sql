-- Phone verification, a code at every sign-in, phone change, and the admin area.
-- See the SQLite migration of the same version for what each column means.
ALTER TABLE accounts ADD COLUMN phone_verified_at BIGINT;
UPDATE accounts SET phone_verified_at = created_at;
ALTER TABLE accounts ADD COLUMN sign_in_code BIGINT CHECK (sign_in_code IS NULL OR sign_in_code IN (0, 1));
ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin'));
ALTER TABLE accounts ADD COLUMN pending_phone_e164 TEXT;
ALTER TABLE accounts ADD COLUMN must_reset_password BIGINT NOT NULL DEFAULT 0
    CHECK (must_reset_password IN (0, 1));

ALTER TABLE sessions ADD COLUMN elevated_until BIGINT;

ALTER TABLE audit_events ADD COLUMN actor_id BIGINT;

CREATE TABLE pending_sign_ins (
    token_hash BYTEA  PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    scope      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_sign_ins_by_account ON pending_sign_ins(account_id);
CREATE INDEX pending_sign_ins_by_expiry ON pending_sign_ins(expires_at);
CREATE INDEX sms_messages_by_sent_at ON sms_messages(status, sent_at);
