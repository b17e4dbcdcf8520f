-- Codes by text message or phone call, failover across providers, and SMS-to-voice fallback.
-- See the SQLite migration of the same version for what each column means.
ALTER TABLE accounts ADD COLUMN delivery_channel TEXT NOT NULL DEFAULT 'sms'
    CHECK (delivery_channel IN ('sms', 'voice'));

ALTER TABLE sms_messages ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms'
    CHECK (channel IN ('sms', 'voice'));
ALTER TABLE sms_messages ADD COLUMN stage BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sms_messages ADD COLUMN fallback_body TEXT;

CREATE INDEX sms_messages_account_purpose ON sms_messages(account_id, purpose, id);

ALTER TABLE dev_outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms';
