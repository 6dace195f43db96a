// Plants rows that test the resource bounds into a generated Duru Notes file: notes with large bodies
// (byte-bounded chunks), one note over MAX_ROW_BYTES (ROW_TOO_LARGE) and one note whose metadata
// nests deeper than MAX_JSON_DEPTH (INVALID_JSON). Deterministic: same options, same bytes.
import Database from 'better-sqlite3';
import { MAX_JSON_DEPTH, MAX_ROW_BYTES } from '../lib/defaults';
import { contentHash } from './generate';
import type { PlantedRow } from './plant-bad-rows';
import { Rng } from './prng';
import { sentence } from './text';

export interface LargeRowOptions {
  /** Notes with a body of about `bodyBytes` bytes each (ids large_note_00000, …). */
  largeNotes: number;
  bodyBytes: number;
  /** Plant one note larger than MAX_ROW_BYTES (id large_note_oversized). */
  oversized?: boolean;
  /** Plant one note whose encrypted_metadata is this many nested arrays (id large_note_deep_json). */
  deepJsonDepth?: number;
  seed?: number;
}

const TS = 1700000000;
export const OVERSIZED_NOTE_ID = 'large_note_oversized';
export const DEEP_JSON_NOTE_ID = 'large_note_deep_json';
/** A task of the oversized note: its note never reaches the target, so it is MISSING_REFERENCE. */
export const TASK_ON_OVERSIZED_ID = 'large_task_on_oversized';
const TASK_CONTENT = 'Task of the oversized note';

/** A markdown-ish body of about `bytes` bytes of varied sentences (not one repeated character). */
export function largeBody(rng: Rng, bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const line = `${sentence(rng, 6, 16)}\n`;
    parts.push(line);
    size += Buffer.byteLength(line);
  }
  return parts.join('');
}

export function plantLargeRows(path: string, opts: LargeRowOptions): PlantedRow[] {
  if (!Number.isInteger(opts.largeNotes) || opts.largeNotes < 0)
    throw new Error(`largeNotes must be a non-negative integer, got ${opts.largeNotes}`);
  if (!Number.isInteger(opts.bodyBytes) || opts.bodyBytes < 1)
    throw new Error(`bodyBytes must be a positive integer, got ${opts.bodyBytes}`);
  const rng = new Rng(opts.seed ?? 7);
  const db = new Database(path, { fileMustExist: true });
  try {
    const note = db.prepare(
      `INSERT INTO local_notes (id, title, body, updated_at, deleted, encrypted_metadata, is_pinned, note_type)
       VALUES (?, ?, ?, ${TS}, 0, ?, 0, 0)`,
    );
    const planted: PlantedRow[] = [];
    // One transaction per 100 notes: a large file is written without holding every body in memory.
    const batch = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const id = `large_note_${String(i).padStart(5, '0')}`;
        note.run(id, `Large note ${i}`, largeBody(rng, opts.bodyBytes), null);
        planted.push({
          table: 'local_notes',
          sourceId: id,
          expect: 'migrated',
          reason: null,
          what: `body of ~${opts.bodyBytes} bytes`,
        });
      }
    });
    for (let i = 0; i < opts.largeNotes; i += 100) batch(i, Math.min(opts.largeNotes, i + 100));
    db.transaction(() => {
      if (opts.oversized) {
        note.run(OVERSIZED_NOTE_ID, 'Oversized note', largeBody(rng, MAX_ROW_BYTES + 1024), null);
        planted.push({
          table: 'local_notes',
          sourceId: OVERSIZED_NOTE_ID,
          expect: 'quarantined',
          reason: 'ROW_TOO_LARGE',
          what: `body over MAX_ROW_BYTES (${MAX_ROW_BYTES})`,
        });
        db.prepare(
          `INSERT INTO note_tasks (id, note_id, content, status, priority, position, content_hash, created_at, updated_at, deleted)
           VALUES (?, ?, ?, 0, 1, 0, ?, ${TS}, ${TS}, 0)`,
        ).run(TASK_ON_OVERSIZED_ID, OVERSIZED_NOTE_ID, TASK_CONTENT, contentHash(TASK_CONTENT));
        planted.push({
          table: 'note_tasks',
          sourceId: TASK_ON_OVERSIZED_ID,
          expect: 'quarantined',
          reason: 'MISSING_REFERENCE',
          what: 'note_id is the oversized (quarantined) note',
        });
      }
      if (opts.deepJsonDepth !== undefined) {
        const depth = opts.deepJsonDepth;
        note.run(
          DEEP_JSON_NOTE_ID,
          'Deep JSON note',
          'Body of the deep JSON note',
          '['.repeat(depth) + ']'.repeat(depth),
        );
        const expect = depth > MAX_JSON_DEPTH ? 'quarantined' : 'migrated';
        planted.push({
          table: 'local_notes',
          sourceId: DEEP_JSON_NOTE_ID,
          expect,
          reason: expect === 'quarantined' ? 'INVALID_JSON' : null,
          what: `encrypted_metadata nested ${depth} deep`,
        });
      }
    })();
    return planted;
  } finally {
    db.close();
  }
}
