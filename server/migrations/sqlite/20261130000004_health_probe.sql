-- A row written and deleted by /readyz while it checks that the database accepts writes
-- (`Store::accepts_writes`); empty at rest.
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY,
    filler TEXT NOT NULL
);
