-- Duru Notes local database (Drift, schema version 12), as Drift's generator emits it.
-- Booleans are INTEGER with a CHECK (0, 1); DateTime columns are INTEGER Unix seconds;
-- intEnum columns are INTEGER (NoteKind, TaskStatus, TaskPriority, ReminderType).
CREATE TABLE IF NOT EXISTS "local_notes" ("id" TEXT NOT NULL, "title" TEXT NOT NULL DEFAULT '', "body" TEXT NOT NULL DEFAULT '', "updated_at" INTEGER NOT NULL, "deleted" INTEGER NOT NULL DEFAULT 0 CHECK ("deleted" IN (0, 1)), "encrypted_metadata" TEXT NULL, "is_pinned" INTEGER NOT NULL DEFAULT 0 CHECK ("is_pinned" IN (0, 1)), "note_type" INTEGER NOT NULL DEFAULT 0, PRIMARY KEY ("id"));
CREATE TABLE IF NOT EXISTS "note_tags" ("note_id" TEXT NOT NULL, "tag" TEXT NOT NULL, PRIMARY KEY ("note_id", "tag"));
CREATE TABLE IF NOT EXISTS "note_links" ("source_id" TEXT NOT NULL, "target_title" TEXT NOT NULL, "target_id" TEXT NULL, PRIMARY KEY ("source_id", "target_title"));
CREATE TABLE IF NOT EXISTS "note_reminders" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "note_id" TEXT NOT NULL, "title" TEXT NOT NULL DEFAULT '', "body" TEXT NOT NULL DEFAULT '', "type" INTEGER NOT NULL, "remind_at" INTEGER NULL, "is_active" INTEGER NOT NULL DEFAULT 1 CHECK ("is_active" IN (0, 1)), "latitude" REAL NULL, "longitude" REAL NULL, "radius" REAL NULL, "location_name" TEXT NULL, "recurrence_pattern" INTEGER NOT NULL DEFAULT 0, "recurrence_end_date" INTEGER NULL, "recurrence_interval" INTEGER NOT NULL DEFAULT 1, "snoozed_until" INTEGER NULL, "snooze_count" INTEGER NOT NULL DEFAULT 0, "notification_title" TEXT NULL, "notification_body" TEXT NULL, "time_zone" TEXT NULL, "created_at" INTEGER NOT NULL, "last_triggered" INTEGER NULL, "trigger_count" INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS "pending_ops" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "entity_id" TEXT NOT NULL, "kind" TEXT NOT NULL, "payload" TEXT NULL, "created_at" INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS "note_tasks" ("id" TEXT NOT NULL, "note_id" TEXT NOT NULL REFERENCES local_notes (id) ON DELETE CASCADE, "content" TEXT NOT NULL, "status" INTEGER NOT NULL DEFAULT 0, "priority" INTEGER NOT NULL DEFAULT 1, "due_date" INTEGER NULL, "completed_at" INTEGER NULL, "completed_by" TEXT NULL, "position" INTEGER NOT NULL DEFAULT 0, "content_hash" TEXT NOT NULL, "reminder_id" INTEGER NULL, "labels" TEXT NULL, "notes" TEXT NULL, "estimated_minutes" INTEGER NULL, "actual_minutes" INTEGER NULL, "parent_task_id" TEXT NULL, "created_at" INTEGER NOT NULL, "updated_at" INTEGER NOT NULL, "deleted" INTEGER NOT NULL DEFAULT 0 CHECK ("deleted" IN (0, 1)), PRIMARY KEY ("id"));
CREATE TABLE IF NOT EXISTS "local_folders" ("id" TEXT NOT NULL, "name" TEXT NOT NULL, "parent_id" TEXT NULL REFERENCES local_folders (id) ON DELETE CASCADE, "path" TEXT NOT NULL, "sort_order" INTEGER NOT NULL DEFAULT 0, "color" TEXT NULL, "icon" TEXT NULL, "description" TEXT NOT NULL DEFAULT '', "created_at" INTEGER NOT NULL, "updated_at" INTEGER NOT NULL, "deleted" INTEGER NOT NULL DEFAULT 0 CHECK ("deleted" IN (0, 1)), PRIMARY KEY ("id"));
CREATE TABLE IF NOT EXISTS "note_folders" ("note_id" TEXT NOT NULL, "folder_id" TEXT NOT NULL, "added_at" INTEGER NOT NULL, PRIMARY KEY ("note_id"));
CREATE TABLE IF NOT EXISTS "saved_searches" ("id" TEXT NOT NULL, "name" TEXT NOT NULL, "query" TEXT NOT NULL, "search_type" TEXT NOT NULL DEFAULT 'text', "parameters" TEXT NULL, "sort_order" INTEGER NOT NULL DEFAULT 0, "color" TEXT NULL, "icon" TEXT NULL, "is_pinned" INTEGER NOT NULL DEFAULT 0 CHECK ("is_pinned" IN (0, 1)), "created_at" INTEGER NOT NULL, "last_used_at" INTEGER NULL, "usage_count" INTEGER NOT NULL DEFAULT 0, PRIMARY KEY ("id"));
CREATE TABLE IF NOT EXISTS "local_templates" ("id" TEXT NOT NULL, "title" TEXT NOT NULL, "body" TEXT NOT NULL, "tags" TEXT NOT NULL DEFAULT '[]', "is_system" INTEGER NOT NULL DEFAULT 0 CHECK ("is_system" IN (0, 1)), "category" TEXT NOT NULL, "description" TEXT NOT NULL, "icon" TEXT NOT NULL, "sort_order" INTEGER NOT NULL DEFAULT 0, "metadata" TEXT NULL, "created_at" INTEGER NOT NULL, "updated_at" INTEGER NOT NULL, PRIMARY KEY ("id"));
CREATE VIRTUAL TABLE IF NOT EXISTS fts_notes USING fts5(id UNINDEXED, title, body);
CREATE INDEX IF NOT EXISTS idx_note_tags_tag ON note_tags(tag);
CREATE INDEX IF NOT EXISTS idx_note_links_target ON note_links(target_title);
CREATE INDEX IF NOT EXISTS idx_note_reminders_note_id ON note_reminders(note_id);
CREATE INDEX IF NOT EXISTS idx_note_reminders_remind_at ON note_reminders(remind_at);
CREATE INDEX IF NOT EXISTS idx_note_tasks_note_id ON note_tasks(note_id);
CREATE INDEX IF NOT EXISTS idx_note_tasks_due_date ON note_tasks(due_date);
CREATE INDEX IF NOT EXISTS idx_note_tasks_status ON note_tasks(status);
CREATE INDEX IF NOT EXISTS idx_note_tasks_parent ON note_tasks(parent_task_id);
CREATE INDEX IF NOT EXISTS idx_local_folders_parent_id ON local_folders(parent_id);
CREATE INDEX IF NOT EXISTS idx_local_folders_path ON local_folders(path);
CREATE INDEX IF NOT EXISTS idx_note_folders_folder_id ON note_folders(folder_id);
CREATE INDEX IF NOT EXISTS idx_local_notes_updated_at ON local_notes(updated_at);
CREATE INDEX IF NOT EXISTS idx_local_notes_pinned ON local_notes(is_pinned);
CREATE INDEX IF NOT EXISTS idx_saved_searches_pinned ON saved_searches(is_pinned, sort_order);
PRAGMA user_version = 12;
