-- The network of the client whose request caused a message (its IPv4 address, or its IPv6
-- network): the per-target cooldown and hourly cap count each client's own messages.
ALTER TABLE sms_messages ADD COLUMN client_network TEXT;
-- Which of the target's hourly allowances a message came out of: `normal` (anyone's request),
-- `reserved` (a trusted browser's, or one from a network the account's browsers use), or `lock`
-- (the code the lock itself sends). Strangers' requests can only use up the first.
ALTER TABLE sms_messages ADD COLUMN allowance TEXT NOT NULL DEFAULT 'normal';
