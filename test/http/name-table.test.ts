import { describe, expect, test } from 'vitest';
import { NameTable } from '../../src/http/name-table.js';

describe('NameTable: exact first, then a one-label wildcard', () => {
  const t = new NameTable<string>();
  t.add('example.com', 'apex');
  t.add('*.example.com', 'wild');
  t.add('api.example.com', 'api');
  t.add('api.example.com', 'second'); // the first one added wins
  test.each([
    ['example.com', 'apex'],
    ['api.example.com', 'api'],
    ['www.example.com', 'wild'],
    ['a.b.example.com', undefined], // a wildcard covers one label only
    ['example.org', undefined],
    ['com', undefined],
  ])('%s → %s', (name, want) => expect(t.match(name)).toBe(want));
  test('get finds an entry by the name it was added under', () => {
    expect(t.get('*.example.com')).toBe('wild');
    expect(t.get('example.com')).toBe('apex');
    expect(t.get('*.example.org')).toBeUndefined();
  });
});
