-- Delivery receipts: when a provider reported the message delivered to the handset (NULL until
-- then). A receipt that reports a failure moves the message from 'sent' to 'failed' instead.
-- Receipts name the message by the provider's own id.
ALTER TABLE sms_messages ADD COLUMN delivered_at BIGINT;
CREATE INDEX sms_messages_by_provider_id ON sms_messages(provider, provider_message_id);
