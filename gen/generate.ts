// Deterministic Duru Notes (Drift v12) dataset generator: same seed + notes → same row content.
import { existsSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { Rng } from './prng';
import { createSourceDatabase } from './source-schema';
import { END_TS, START_TS, insertExtras, type NoteRef } from './extras';
import {
  FOLDER_CHILDREN,
  FOLDER_COLORS,
  FOLDER_ICONS,
  FOLDER_ROOTS,
  LABELS,
  emailNote,
  markdownBody,
  otherMetadata,
  sentence,
  taskContent,
  title as makeTitle,
} from './text';

export interface GenerateOptions {
  path: string;
  seed: number;
  notes: number;
  canary?: string;
  /**
   * The user the file belongs to: written as the app's user marker (table app_meta, key 'user_id'),
   * which the migration checks against the run's user (docs/security.md). Without it the file is unmarked.
   */
  userId?: string;
}
export interface GenerateSummary {
  path: string;
  seed: number;
  notes: number;
  tasks: number;
  folders: number;
  noteFolders: number;
  deletedNotes: number;
  deletedTasks: number;
  emailNotes: number;
  nonUuidIds: number;
  nestedTasks: number;
}

const DAY = 86400;
const SYSTEM_NOTES = [
  [
    'system_daily_standup',
    'Daily Standup',
    '# Daily Standup\n\n## Yesterday\n- \n\n## Today\n- [ ] \n\n## Blockers\n- ',
  ],
  [
    'system_meeting_notes',
    'Meeting Notes',
    '# Meeting Notes\n\n| Attendee | Role |\n| --- | --- |\n|  |  |\n\n## Action items\n- [ ] ',
  ],
  ['system_weekly_review', 'Weekly Review', '# Weekly Review\n\n## Wins ✅\n- \n\n## Next week 🚀\n- [ ] '],
] as const;

interface Folder {
  id: string;
  depth: number;
  path: string;
  created: number;
}

export function contentHash(content: string): string {
  return bytesToHex(sha256(utf8ToBytes(content)));
}

export function generateDataset(opts: GenerateOptions): GenerateSummary {
  const { path, seed, canary } = opts;
  if (!Number.isInteger(opts.notes) || opts.notes < 0)
    throw new Error(`notes must be a non-negative integer, got ${opts.notes}`);
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  if (existsSync(path)) throw new Error(`refusing to generate: ${path} already exists`);
  const rng = new Rng(seed);
  const db = createSourceDatabase(path);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  const sum: GenerateSummary = {
    path,
    seed,
    notes: 0,
    tasks: 0,
    folders: 0,
    noteFolders: 0,
    deletedNotes: 0,
    deletedTasks: 0,
    emailNotes: 0,
    nonUuidIds: 0,
    nestedTasks: 0,
  };
  const withCanary = (s: string, sep: string): string => (canary === undefined ? s : `${s}${sep}${canary}`);
  const ownerId = rng.uuid();

  const insFolder = db.prepare(
    `INSERT INTO local_folders (id, name, parent_id, path, sort_order, color, icon, description, created_at, updated_at, deleted)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insNote = db.prepare(
    `INSERT INTO local_notes (id, title, body, updated_at, deleted, encrypted_metadata, is_pinned, note_type)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insNoteFolder = db.prepare('INSERT INTO note_folders (note_id, folder_id, added_at) VALUES (?, ?, ?)');
  const insTask = db.prepare(
    `INSERT INTO note_tasks (id, note_id, content, status, priority, due_date, completed_at, completed_by, position,
       content_hash, reminder_id, labels, notes, estimated_minutes, actual_minutes, parent_task_id, created_at, updated_at, deleted)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  const folders: Folder[] = [];
  const parentable: Folder[] = [];
  const paths = new Set<string>();
  const addFolder = (id: string, name: string, parent: Folder | null, deleted: boolean): void => {
    let base = `${parent ? parent.path : ''}/${name}`;
    let p = base;
    for (let k = 2; paths.has(p); k++) p = `${base} ${k}`;
    paths.add(p);
    base = p.slice(p.lastIndexOf('/') + 1);
    const depth = parent ? parent.depth + 1 : 1;
    const created = parent
      ? rng.int(parent.created, Math.min(END_TS, parent.created + 180 * DAY))
      : rng.int(START_TS, START_TS + 400 * DAY);
    const updated = rng.int(created, Math.min(END_TS, created + 365 * DAY));
    insFolder.run(
      id,
      base,
      parent ? parent.id : null,
      p,
      rng.int(0, 20),
      rng.chance(0.5) ? rng.pick(FOLDER_COLORS) : null,
      rng.chance(0.5) ? rng.pick(FOLDER_ICONS) : null,
      rng.chance(0.3) ? sentence(rng, 3, 8) : '',
      created,
      updated,
      deleted ? 1 : 0,
    );
    const f: Folder = { id, depth, path: p, created };
    folders.push(f);
    if (depth < 4) parentable.push(f);
    sum.folders++;
  };

  const noteRefs: NoteRef[] = [];
  const recentTitles: string[] = [];
  const taskIds: string[] = [];

  const addTasks = (noteId: string, noteTs: number, count: number, systemIdx: number | null): void => {
    taskIds.length = 0;
    for (let j = 0; j < count; j++) {
      const id = systemIdx !== null ? `system_task_${systemIdx}` : rng.uuid();
      if (systemIdx !== null) sum.nonUuidIds++;
      const content = withCanary(taskContent(rng), ' ');
      const created = rng.int(Math.max(START_TS, noteTs - 30 * DAY), noteTs);
      const updated = rng.int(created, Math.min(END_TS, created + 90 * DAY));
      const status = rng.weighted([60, 30, 10]);
      const completedAt = status === 1 ? rng.int(created, Math.min(END_TS, created + 60 * DAY)) : null;
      const parent = j > 0 && rng.chance(0.33) ? (taskIds[rng.int(0, j - 1)] as string) : null;
      if (parent !== null) sum.nestedTasks++;
      let labels: string | null = null;
      if (rng.chance(0.4)) labels = JSON.stringify([...new Set([rng.pick(LABELS), rng.pick(LABELS)])]);
      const deleted = rng.chance(0.05);
      if (deleted) sum.deletedTasks++;
      insTask.run(
        id,
        noteId,
        content,
        status,
        rng.weighted([20, 45, 25, 10]),
        rng.chance(0.5) ? null : Math.min(END_TS, created + rng.int(0, 60 * DAY)),
        completedAt,
        completedAt !== null && rng.chance(0.7) ? ownerId : null,
        j,
        contentHash(content),
        null,
        labels,
        rng.chance(0.15) ? sentence(rng, 3, 10) : null,
        rng.chance(0.3) ? rng.int(5, 240) : null,
        completedAt !== null && rng.chance(0.5) ? rng.int(5, 300) : null,
        parent,
        created,
        updated,
        deleted ? 1 : 0,
      );
      taskIds.push(id);
      sum.tasks++;
    }
  };

  db.transaction(() => {
    // Folder tree: system inbox, then roots and children up to 4 levels deep.
    const folderCount = Math.max(3, Math.floor(opts.notes / 25));
    addFolder('system_inbox', 'Inbox', null, false);
    sum.nonUuidIds++;
    while (folders.length < folderCount) {
      const root = folders.length < 4 || rng.chance(0.1);
      const parent = root ? null : rng.pick(parentable);
      addFolder(rng.uuid(), root ? rng.pick(FOLDER_ROOTS) : rng.pick(FOLDER_CHILDREN), parent, rng.chance(0.05));
    }

    for (let i = 0; i < opts.notes; i++) {
      const sys = i < SYSTEM_NOTES.length ? SYSTEM_NOTES[i] : undefined;
      const ts = rng.int(START_TS, END_TS);
      let id: string;
      let title: string;
      let body: string;
      let metadata: string | null = null;
      let noteType = 0;
      let deleted = false;
      if (sys) {
        [id, title, body] = sys;
        noteType = 1;
        sum.nonUuidIds++;
      } else {
        id = rng.uuid();
        const r = rng.next();
        if (r < 0.05) {
          const e = emailNote(rng, ts, i);
          ({ title, body } = e);
          metadata = e.metadata;
          sum.emailNotes++;
        } else {
          title = makeTitle(rng, i);
          body = markdownBody(rng, recentTitles);
          if (r < 0.15) metadata = otherMetadata(rng, ts);
        }
        if (rng.chance(0.01)) noteType = 1;
        deleted = rng.chance(0.05);
      }
      if (deleted) sum.deletedNotes++;
      if (recentTitles.length < 50) recentTitles.push(title);
      else recentTitles[rng.int(0, 49)] = title;
      if (noteRefs.length < 200) noteRefs.push({ id, title, ts });
      insNote.run(
        id,
        withCanary(title, ' '),
        withCanary(body, '\n\n'),
        ts,
        deleted ? 1 : 0,
        metadata,
        rng.chance(0.05) ? 1 : 0,
        noteType,
      );
      sum.notes++;
      if (rng.chance(0.7)) {
        insNoteFolder.run(id, rng.pick(folders).id, Math.min(END_TS, ts + rng.int(0, 30 * DAY)));
        sum.noteFolders++;
      }
      addTasks(id, ts, sys ? 1 : rng.weighted([15, 20, 30, 15, 10, 10]), sys ? i + 1 : null);
    }

    insertExtras(db, rng, noteRefs);
    if (opts.userId !== undefined) {
      db.exec('CREATE TABLE IF NOT EXISTS app_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)');
      db.prepare("INSERT INTO app_meta (key, value) VALUES ('user_id', ?)").run(opts.userId);
    }
    db.exec('INSERT INTO fts_notes (id, title, body) SELECT id, title, body FROM local_notes WHERE deleted = 0');
  })();

  db.pragma('journal_mode = DELETE');
  db.close();
  return sum;
}
