-- Inside the drop's transaction: no writer may be in or enter {{table}} until it commits.
LOCK TABLE {{table}} IN ACCESS EXCLUSIVE MODE NOWAIT;
