-- Cancels the running query of one backend (a cancelled activity's long query).
SELECT pg_cancel_backend($1);
