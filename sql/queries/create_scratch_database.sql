-- A backup attempt's scratch database. CREATE DATABASE has no IF NOT EXISTS: the caller drops this
-- attempt's (and earlier attempts') scratch databases first (drop_scratch_database.sql).
CREATE DATABASE {{database}};
