-- Why a message failed for good: 'unreachable' or 'undelivered'. NULL unless status is 'failed'.
ALTER TABLE sms_messages ADD COLUMN failure TEXT
    CHECK (failure IS NULL OR failure IN ('unreachable', 'undelivered'));
