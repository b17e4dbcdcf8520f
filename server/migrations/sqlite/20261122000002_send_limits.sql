-- Send limits count recent messages per account, per destination, per client IP and overall.
ALTER TABLE sms_messages ADD COLUMN client_ip TEXT;
CREATE INDEX sms_messages_by_time ON sms_messages(created_at);
CREATE INDEX sms_messages_by_account ON sms_messages(account_id, created_at);
CREATE INDEX sms_messages_by_destination ON sms_messages(to_phone, created_at);
CREATE INDEX sms_messages_by_client_ip ON sms_messages(client_ip, created_at);
