// Search attributes the migration workflow upserts as it moves, so runs can be listed and
// filtered in the Web UI and with `temporal workflow list --query`.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const MigrationPhase = defineSearchAttributeKey('MigrationPhase', SearchAttributeType.KEYWORD);
export const MigrationStatus = defineSearchAttributeKey('MigrationStatus', SearchAttributeType.KEYWORD);
export const MigrationUser = defineSearchAttributeKey('MigrationUser', SearchAttributeType.KEYWORD);
export const MigrationTarget = defineSearchAttributeKey('MigrationTarget', SearchAttributeType.KEYWORD);

export const MIGRATION_SEARCH_ATTRIBUTES = [MigrationPhase, MigrationStatus, MigrationUser, MigrationTarget];
