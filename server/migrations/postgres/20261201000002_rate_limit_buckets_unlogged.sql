-- The shared rate-limit buckets are counters of the last minutes, not records: unlogged, so that
-- taking a token writes nothing to the write-ahead log and its commit does not wait for the
-- disk. After a crash of the database (or on a standby promoted in its place) the table is empty
-- and every client starts with a full bucket, as every client does when a SQLite deployment,
-- whose buckets live in the process, restarts.
ALTER TABLE rate_limit_buckets SET UNLOGGED;
