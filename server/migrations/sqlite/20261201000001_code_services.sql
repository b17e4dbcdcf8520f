-- Codes a managed verification service issues (CODE_ISSUER): the message that carries the code
-- names the service that is to send it (`code_service`; NULL: Latchkey's own code, sent by the
-- SMS providers), and the code row names its message and, once the service has sent the code,
-- the service and its verification id, which the service is asked about when the code is entered.
ALTER TABLE sms_messages ADD COLUMN code_service TEXT;
ALTER TABLE verification_codes ADD COLUMN message_id INTEGER;
ALTER TABLE verification_codes ADD COLUMN code_service TEXT;
ALTER TABLE verification_codes ADD COLUMN verification_id TEXT;
CREATE INDEX verification_codes_by_message ON verification_codes(message_id);
