-- Why a message failed for good: 'unreachable' (the number cannot receive on that channel) or
-- 'undelivered' (every provider failed or refused it). NULL unless status is 'failed'.
ALTER TABLE sms_messages ADD COLUMN failure TEXT
    CHECK (failure IS NULL OR failure IN ('unreachable', 'undelivered'));
