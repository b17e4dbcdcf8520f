-- PostgreSQL only: its shared rate-limit buckets become unlogged. With SQLite the buckets live in
-- the process (this table stays empty): nothing to change.
SELECT 1;
