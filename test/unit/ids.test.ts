import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ID_NAMESPACE, isUuid, targetId, userNamespace, uuidV5 } from '../../lib/ids';
import type { SourceTable } from '../../lib/ids';

const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const USER = '4b1f6c2e-8d3a-4e5f-9a6b-7c8d9e0f1a2b';
const TABLES: SourceTable[] = ['local_notes', 'note_tasks', 'local_folders', 'note_folders'];

/** Independent UUIDv5 (RFC 9562 §5.5) over node:crypto SHA-1. */
function referenceV5(name: string, namespace: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const versionNibble = (uuid: string): string => uuid[14]!;
const variantNibble = (uuid: string): string => uuid[19]!;

describe('uuidV5', () => {
  it('matches the well-known vector: www.example.com in the DNS namespace', () => {
    expect(uuidV5('www.example.com', DNS_NAMESPACE)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('accepts an upper-case namespace the same as a lower-case one', () => {
    expect(uuidV5('www.example.com', DNS_NAMESPACE.toUpperCase())).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it.each([
    ['www.example.com', URL_NAMESPACE],
    ['', DNS_NAMESPACE],
    ['local_notes:system_daily_standup', ID_NAMESPACE],
    ['note_tasks:ünïcødé 笔记 🎉', ID_NAMESPACE],
    ['x'.repeat(500), ID_NAMESPACE],
  ])('agrees with an independent node:crypto implementation for %j', (name, ns) => {
    expect(uuidV5(name, ns)).toBe(referenceV5(name, ns));
  });

  it('defaults to ID_NAMESPACE', () => {
    expect(uuidV5('local_notes:abc')).toBe(uuidV5('local_notes:abc', ID_NAMESPACE));
    expect(uuidV5('local_notes:abc')).not.toBe(uuidV5('local_notes:abc', DNS_NAMESPACE));
  });

  it('is canonical lower-case text with version 5 and the RFC variant', () => {
    for (const name of ['a', 'b', 'local_folders:inbox', '🎉']) {
      const id = uuidV5(name);
      expect(id).toMatch(CANONICAL);
      expect(versionNibble(id)).toBe('5');
      expect(['8', '9', 'a', 'b']).toContain(variantNibble(id));
    }
  });
});

describe('isUuid', () => {
  it.each([
    ['3f2504e0-4f89-41d3-9a0c-0305e82c3301', true],
    ['3F2504E0-4F89-41D3-9A0C-0305E82C3301', true],
    ['00000000-0000-0000-0000-000000000000', true],
    ['3f2504e04f8941d39a0c0305e82c3301', false],
    ['{3f2504e0-4f89-41d3-9a0c-0305e82c3301}', false],
    ['3f2504e0-4f89-41d3-9a0c-0305e82c330', false],
    [' 3f2504e0-4f89-41d3-9a0c-0305e82c3301', false],
    ['3f2504e0-4f89-41d3-9a0c-0305e82c3301\n', false],
    ['g f2504e0-4f89-41d3-9a0c-0305e82c3301', false],
    ['system_daily_standup', false],
    ['', false],
  ])('isUuid(%j) = %s', (value, expected) => {
    expect(isUuid(value)).toBe(expected);
  });
});

describe('targetId', () => {
  it('keeps a uuid source id, lower-cased', () => {
    expect(targetId('local_notes', '3f2504e0-4f89-41d3-9a0c-0305e82c3301', USER)).toBe(
      '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
    );
    expect(targetId('local_notes', '3F2504E0-4F89-41D3-9A0C-0305E82C3301', USER)).toBe(
      '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
    );
    expect(targetId('note_tasks', 'AbCdEf01-2345-6789-aBcD-ef0123456789', USER)).toBe(
      'abcdef01-2345-6789-abcd-ef0123456789',
    );
  });

  it('keeps a uuid the same in every table (no namespacing of real uuids)', () => {
    const id = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    for (const t of TABLES) expect(targetId(t, id, USER)).toBe(id);
  });

  it('maps a non-uuid id to UUIDv5("<table>:<id>") in ID_NAMESPACE', () => {
    const id = targetId('local_notes', 'system_daily_standup', USER);
    expect(id).toBe(uuidV5('local_notes:system_daily_standup', userNamespace(USER)));
    expect(id).toBe(referenceV5('local_notes:system_daily_standup', userNamespace(USER)));
    expect(id).toMatch(CANONICAL);
    expect(versionNibble(id)).toBe('5');
    expect(['8', '9', 'a', 'b']).toContain(variantNibble(id));
  });

  it('is deterministic', () => {
    expect(targetId('note_tasks', 'task-1', USER)).toBe(targetId('note_tasks', 'task-1', USER));
    expect(targetId('note_tasks', 'task-1', USER)).not.toBe(targetId('note_tasks', 'task-2', USER));
  });

  it('gives the same non-uuid id different target ids in different tables', () => {
    const ids = TABLES.map((t) => targetId(t, 'shared-id', USER));
    expect(new Set(ids).size).toBe(TABLES.length);
  });

  it('is case-sensitive for non-uuid ids (they are opaque text)', () => {
    expect(targetId('local_notes', 'Inbox', USER)).not.toBe(targetId('local_notes', 'inbox', USER));
  });

  it('does not mistake a uuid with surrounding text for a uuid', () => {
    const almost = 'note-3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    expect(targetId('local_notes', almost, USER)).toBe(uuidV5(`local_notes:${almost}`, userNamespace(USER)));
  });

  it('mints non-uuid ids per user, so users sharing a target never collide', () => {
    const other = '9d7c3a4e-1b2f-4c5d-8e6f-7a8b9c0d1e2f';
    expect(targetId('local_notes', 'system_daily_standup', USER)).not.toBe(
      targetId('local_notes', 'system_daily_standup', other),
    );
    expect(targetId('local_notes', 'system_daily_standup', USER.toUpperCase())).toBe(
      targetId('local_notes', 'system_daily_standup', USER),
    );
    expect(userNamespace(USER)).toBe(uuidV5(USER, ID_NAMESPACE));
  });

  it('ID_NAMESPACE is the fixed project namespace', () => {
    expect(ID_NAMESPACE).toBe('fbae54ed-138e-4ffa-ab7a-2f13ebbfd8c9');
  });
});
