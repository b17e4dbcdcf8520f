-- A send whose outcome is unknown (a timeout after the request went out, or the process that
-- held it died): from when. Before the message is sent again, a provider that can be asked is
-- asked whether it already took it. NULL otherwise.
ALTER TABLE sms_messages ADD COLUMN ambiguous_since INTEGER;
-- The instance that claimed the message last (`INSTANCE_ID`): at its restart it takes back the
-- messages it held at once, instead of waiting for their lease to run out.
ALTER TABLE sms_messages ADD COLUMN claimed_by TEXT;
