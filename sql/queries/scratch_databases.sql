-- Scratch databases of one run's backup verification ($1: the LIKE pattern of the run's names).
SELECT datname AS name FROM pg_database WHERE datname LIKE $1 ORDER BY 1;
