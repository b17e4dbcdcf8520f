-- Messages per minute, in all and per client IP, for the hourly caps on both: a cap then reads
-- at most 61 rows, however many messages the hour held. Written with every message and decoy;
-- minutes older than the window are pruned.
CREATE TABLE send_counters (
    -- 'all', or 'ip:' and the client IP.
    counter TEXT   NOT NULL,
    -- Unix milliseconds / 60000.
    minute  BIGINT NOT NULL,
    sends   BIGINT NOT NULL,
    PRIMARY KEY (counter, minute)
) WITHOUT ROWID;

INSERT INTO send_counters (counter, minute, sends)
    SELECT 'all', created_at / 60000, COUNT(*) FROM sms_messages GROUP BY created_at / 60000;
INSERT INTO send_counters (counter, minute, sends)
    SELECT 'ip:' || client_ip, created_at / 60000, COUNT(*) FROM sms_messages
    WHERE client_ip IS NOT NULL GROUP BY client_ip, created_at / 60000;

-- The counters replace these in the per-IP and global counts; nothing else reads by them.
DROP INDEX sms_messages_by_time;
DROP INDEX sms_messages_by_client_ip;
