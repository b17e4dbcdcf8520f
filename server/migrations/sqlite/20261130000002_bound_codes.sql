-- A code asked for from the unlock or reset page is bound to the browser that asked (the binding
-- in its signed recovery cookie), so several can be live per account and purpose: one per
-- browser, and one unbound (`''`: the code the lock itself sends, and every other purpose's).
CREATE TABLE verification_codes_bound (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL,
    binding    TEXT    NOT NULL DEFAULT '',
    code_hash  BLOB    NOT NULL,
    tries_left INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, purpose, binding)
);
INSERT INTO verification_codes_bound
    (account_id, purpose, binding, code_hash, tries_left, created_at, expires_at)
    SELECT account_id, purpose, '', code_hash, tries_left, created_at, expires_at
    FROM verification_codes;
DROP TABLE verification_codes;
ALTER TABLE verification_codes_bound RENAME TO verification_codes;
CREATE INDEX verification_codes_by_expiry ON verification_codes(expires_at);
