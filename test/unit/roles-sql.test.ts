// sql/roles/030_data_grants.sql names the tables the data role may write by hand (a DO block cannot
// read the mapping): it must list exactly the mapped tables, their bridge tables and their archives,
// or a new mapping would fail on its first chunk with "permission denied" only where the roles are split.
import { expect, it } from 'vitest';
import { sqlFile } from '../../infra/sql-files';
import { MAPPINGS, TABLE_ORDER } from '../../lib/mapping';

it('grants the data role rows of exactly the mapped, bridge and archive tables', () => {
  const text = sqlFile('roles/030_data_grants.sql', { data_role: 'migrator', schema: '"app"' });
  const listed = [...text.matchAll(/'((?:"app"|migration_archive)\.\w+)'/g)].map((m) => m[1]).sort();
  const expected = TABLE_ORDER.flatMap((t) => [
    `"app".${MAPPINGS[t].targetTable}`,
    `"app".${MAPPINGS[t].bridgeTable}`,
    `migration_archive.${MAPPINGS[t].bridgeTable}`,
  ]).sort();
  expect(listed).toEqual(expected);
});

it('the role files create roles without superuser, CREATEDB or CREATEROLE', () => {
  for (const file of ['roles/010_owner_role.sql', 'roles/020_data_role.sql']) {
    const code = sqlFile(file, { owner_role: 'o', data_role: 'd' }).replace(/--.*$/gm, '');
    expect(code, file).toMatch(/CREATE ROLE \w+ LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE/);
    expect(code, file).not.toMatch(/(?<!NO)(SUPERUSER|CREATEDB|CREATEROLE)\b/);
  }
});
