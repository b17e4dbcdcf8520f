-- Request rate limits shared by every instance (PostgreSQL): one token bucket per client network
-- and kind of request, in thousandths of a token, refilled and taken from in one statement.
-- `allowed`: whether the last request took a token. With SQLite (one instance) the buckets live
-- in the process and this table stays empty.
CREATE TABLE rate_limit_buckets (
    bucket       TEXT    PRIMARY KEY,
    milli_tokens BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    allowed      BOOLEAN NOT NULL
);
