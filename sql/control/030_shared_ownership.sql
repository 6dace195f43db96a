-- What is shared between runs on one target is owned by the target, not by a run (idempotent).

-- A run that completed over rows an earlier run of the same user created (that earlier run ended
-- ROLLBACK_FAILED with rows left) validated them: they are its data now. A clean of the earlier
-- run refuses while such a row exists; the completing run's own rollback deletes its rows here.
CREATE TABLE IF NOT EXISTS migration.run_supersessions (
  user_id        uuid NOT NULL,
  run_id         text NOT NULL,   -- the earlier run whose rows were taken over
  superseded_by  text NOT NULL,   -- the run that validated them and completed
  at             timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, run_id, superseded_by)
);

-- The runs using one of our indexes (created or found there). An index is dropped only when its
-- last user leaves, under the index-builder advisory lock: a run's rollback or its post-migration
-- never drops an index another run is building or relies on.
CREATE TABLE IF NOT EXISTS migration.index_users (
  index_name  text NOT NULL,
  run_id      text NOT NULL,
  index_set   text NOT NULL,
  since       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (index_name, run_id)
);

-- The runs whose schema step found or created the tables (under the schema lock), so a rollback
-- dropping a table it created sees a run that checked the schema but holds no lease yet.
CREATE TABLE IF NOT EXISTS migration.schema_users (
  run_id  text PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now()
);
