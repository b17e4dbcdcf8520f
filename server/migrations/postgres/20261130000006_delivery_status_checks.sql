-- When a provider that reports delivery only when asked (RingCentral) was last asked about this
-- message (NULL: never).
ALTER TABLE sms_messages ADD COLUMN status_checked_at BIGINT;
