-- Target schema of the notes app (idempotent). Every row carries its owner's user_id; ids are
-- uuids (kept from the source or UUIDv5 of "table:id"); title/body/folder properties are
-- encrypted envelopes (bytea). The tables live in the target's app schema (the worker config's, quoted by the caller) from the worker config, quoted.
CREATE TABLE IF NOT EXISTS {{schema}}.folders (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL,
  name_enc    bytea NOT NULL,
  props_enc   bytea NOT NULL,
  deleted     boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS {{schema}}.notes (
  id                  uuid PRIMARY KEY,
  user_id             uuid NOT NULL,
  title_enc           bytea NOT NULL,
  props_enc           bytea NOT NULL,
  encrypted_metadata  jsonb,
  is_pinned           boolean NOT NULL DEFAULT false,
  note_type           text NOT NULL DEFAULT 'note' CHECK (note_type IN ('note', 'template')),
  deleted             boolean NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS {{schema}}.note_folders (
  note_id    uuid PRIMARY KEY REFERENCES {{schema}}.notes (id) ON DELETE CASCADE,
  folder_id  uuid NOT NULL REFERENCES {{schema}}.folders (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL,
  added_at   timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS {{schema}}.note_tasks (
  id            uuid PRIMARY KEY,
  user_id       uuid NOT NULL,
  note_id       uuid NOT NULL REFERENCES {{schema}}.notes (id) ON DELETE CASCADE,
  content       text NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'cancelled')),
  priority      integer NOT NULL DEFAULT 1,
  due_date      timestamptz,
  completed_at  timestamptz,
  position      integer NOT NULL DEFAULT 0,
  labels        jsonb,
  parent_id     uuid REFERENCES {{schema}}.note_tasks (id) ON DELETE SET NULL,
  deleted       boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
