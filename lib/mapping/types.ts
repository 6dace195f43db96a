// The contract every table mapping implements. The engine (activities/transfer, validate) is
// generic over it; the notes-app mappings in this folder are the first ones shipped.
import type { SourceTable } from '../ids';

export type TargetTable = 'notes' | 'note_tasks' | 'folders' | 'note_folders';

export interface TransformContext {
  userId: string;
  /** Run start (Unix seconds), fixed for the whole run so every retry transforms identically. */
  asOfSeconds: number;
}

/** A reference that must exist in the target (owned by the same user) or the row is quarantined. */
export interface RequiredRef {
  table: 'notes' | 'folders';
  sourceId: string;
  targetId: string;
  column: string;
}

/** An optional self/parent reference: if the parent is missing or invalid it becomes NULL and the row is `repaired`. */
export interface OptionalParent {
  sourceId: string;
  targetId: string;
  column: string;
}

export interface TransformedRow<C> {
  sourceId: string;
  targetId: string;
  /** Plaintext canonical values: exactly what the checksum and the sample compare cover. */
  canonical: C;
  requiredRefs: RequiredRef[];
  parent: OptionalParent | null;
}

/** Per-entity encryption: the worker supplies these; mappings never see the master key. */
export interface Sealer {
  seal(entityId: string, plaintext: string): Buffer;
  open(entityId: string, envelope: Uint8Array): string;
}

export interface TableMapping<C extends { [k: string]: unknown } = { [k: string]: unknown }> {
  sourceTable: SourceTable;
  targetTable: TargetTable;
  bridgeTable: string;
  /** Source primary key column (keyset pagination runs over it). */
  keyColumn: string;
  /** Target column that identifies a migrated row for its bridge row (what rollback deletes by). */
  targetKeyColumn: 'id' | 'note_id';
  /** SELECT list over the source table; text columns as CAST(x AS BLOB) so bad UTF-8 is seen. */
  selectList: string;
  /** Source columns this mapping reads (the preflight reports any other column as not covered). */
  coveredColumns: readonly string[];
  /** Parses one source row; throws RowRejection for a row that must be quarantined. */
  transform(row: Record<string, unknown>, ctx: TransformContext): TransformedRow<C>;
  /** The canonical row after its optional parent resolved (or did not: null). */
  withParent?(canonical: C, parentTargetId: string | null): C;
  /** Target column values (after id, before user_id-less scalars) in the insert file's order. */
  encode(canonical: C, sealer: Sealer): unknown[];
  /** Canonical row back from a target row (as node-postgres returns it), decrypting as needed. */
  decode(targetRow: Record<string, unknown>, sealer: Sealer): C;
  /** Timestamp fields of the canonical row (compared within a tolerance by the sample check). */
  timeFields: readonly (keyof C & string)[];
}
