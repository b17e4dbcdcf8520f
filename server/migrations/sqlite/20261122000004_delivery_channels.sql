-- Codes by text message or phone call, failover across providers, and SMS-to-voice fallback.

-- How codes reach this account's phone.
ALTER TABLE accounts ADD COLUMN delivery_channel TEXT NOT NULL DEFAULT 'sms'
    CHECK (delivery_channel IN ('sms', 'voice'));

-- `channel`: text message or call. `stage`: the position in the provider list (SMS_PROVIDERS) the
-- message is on; `attempts` counts attempts at that stage and restarts at 0 on failover.
-- `fallback_body`: the spoken text of the same code, queued as a call if every SMS attempt fails
-- (SMS_VOICE_FALLBACK); cleared with `body` once the message is done.
ALTER TABLE sms_messages ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms'
    CHECK (channel IN ('sms', 'voice'));
ALTER TABLE sms_messages ADD COLUMN stage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sms_messages ADD COLUMN fallback_body TEXT;

CREATE INDEX sms_messages_account_purpose ON sms_messages(account_id, purpose, id);

ALTER TABLE dev_outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms';
