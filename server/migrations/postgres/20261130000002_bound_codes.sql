-- A code asked for from the unlock or reset page is bound to the browser that asked (the binding
-- in its signed recovery cookie), so several can be live per account and purpose: one per
-- browser, and one unbound (`''`: the code the lock itself sends, and every other purpose's).
ALTER TABLE verification_codes ADD COLUMN binding TEXT NOT NULL DEFAULT '';
ALTER TABLE verification_codes DROP CONSTRAINT verification_codes_pkey;
ALTER TABLE verification_codes ADD PRIMARY KEY (account_id, purpose, binding);
CREATE INDEX verification_codes_by_expiry ON verification_codes(expires_at);
