// Rows for the Drift tables the migration does not carry (tags, links, reminders, saved searches,
// templates, pending ops): a handful each, so the source file looks like a real device database.
import type Database from 'better-sqlite3';
import type { Rng } from './prng';
import { LABELS, sentence } from './text';

export const START_TS = 1609459200; // 2021-01-01T00:00:00Z
export const END_TS = 1748736000; // 2025-06-01T00:00:00Z

export interface NoteRef {
  id: string;
  title: string;
  ts: number;
}

export function insertExtras(db: Database.Database, rng: Rng, notes: readonly NoteRef[]): void {
  const tag = db.prepare('INSERT OR IGNORE INTO note_tags (note_id, tag) VALUES (?, ?)');
  const link = db.prepare('INSERT OR IGNORE INTO note_links (source_id, target_title, target_id) VALUES (?, ?, ?)');
  const reminder = db.prepare(
    `INSERT INTO note_reminders (note_id, title, body, type, remind_at, is_active, latitude, longitude, radius,
       location_name, recurrence_pattern, time_zone, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const op = db.prepare('INSERT INTO pending_ops (entity_id, kind, payload, created_at) VALUES (?, ?, ?, ?)');
  const search = db.prepare(
    `INSERT INTO saved_searches (id, name, query, search_type, parameters, sort_order, color, icon, is_pinned,
       created_at, last_used_at, usage_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const template = db.prepare(
    `INSERT INTO local_templates (id, title, body, tags, is_system, category, description, icon, sort_order,
       metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  if (notes.length === 0) return;

  for (const n of notes.slice(0, 60)) {
    if (rng.chance(0.5)) tag.run(n.id, rng.pick(LABELS));
    if (rng.chance(0.2)) tag.run(n.id, rng.pick(LABELS));
    if (rng.chance(0.2)) {
      const target = rng.pick(notes);
      link.run(n.id, target.title, rng.chance(0.8) ? target.id : null);
    }
  }
  for (let i = 0; i < Math.min(12, notes.length); i++) {
    const n = rng.pick(notes);
    const geo = rng.chance(0.25);
    reminder.run(
      n.id,
      `Reminder: ${n.title}`,
      sentence(rng, 3, 8),
      geo ? 1 : 0,
      geo ? null : Math.min(END_TS, n.ts + rng.int(3600, 86400 * 7)),
      rng.chance(0.7) ? 1 : 0,
      geo ? 41.0082 : null,
      geo ? 28.9784 : null,
      geo ? 150 : null,
      geo ? 'İstanbul ofisi' : null,
      rng.int(0, 3),
      rng.pick(['Europe/Istanbul', 'Europe/Berlin', 'Asia/Tokyo', 'UTC']),
      n.ts,
    );
  }
  for (let i = 0; i < 10; i++) {
    const n = rng.pick(notes);
    op.run(
      n.id,
      rng.pick(['upsert_note', 'delete_note', 'upsert_task', 'upsert_folder']),
      rng.chance(0.5) ? JSON.stringify({ retry: rng.int(0, 3) }) : null,
      rng.int(START_TS, END_TS),
    );
  }
  const searches = [
    ['Open tasks', 'status:open', 'filter'],
    ['Toplantılar', 'toplantı', 'text'],
    ['Emails', 'source:email', 'filter'],
    ['会议', '会议', 'text'],
    ['Pinned 📌', 'is:pinned', 'filter'],
  ] as const;
  searches.forEach(([name, query, type], i) => {
    const created = rng.int(START_TS, END_TS);
    search.run(
      rng.uuid(),
      name,
      query,
      type,
      type === 'filter' ? JSON.stringify({ field: query.split(':')[0] }) : null,
      i,
      rng.chance(0.5) ? '#2196F3' : null,
      rng.chance(0.5) ? 'search' : null,
      i === 4 ? 1 : 0,
      created,
      rng.chance(0.6) ? Math.min(END_TS, created + rng.int(0, 86400 * 30)) : null,
      rng.int(0, 40),
    );
  });
  const templates = [
    ['system_daily_standup', 'Daily Standup', 'work'],
    ['system_meeting_notes', 'Meeting Notes', 'meetings'],
    ['system_weekly_review', 'Weekly Review', 'personal'],
  ] as const;
  templates.forEach(([id, title, category], i) => {
    template.run(
      id,
      title,
      `# ${title}\n\n## Yesterday\n- \n\n## Today\n- [ ] \n`,
      JSON.stringify([category]),
      1,
      category,
      `${title} template`,
      'description',
      i,
      null,
      START_TS,
      START_TS + 86400 * i,
    );
  });
}
