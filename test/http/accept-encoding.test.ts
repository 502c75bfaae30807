import { describe, expect, it } from 'vitest';
import { negotiateEncoding, parseAcceptEncoding } from '../../src/http/accept-encoding.js';

describe('parseAcceptEncoding (RFC 9110 §12.5.3)', () => {
  it.each([
    ['gzip, deflate, br', [['gzip', 1], ['deflate', 1], ['br', 1]]],
    ['br;q=0.8, GZIP ; Q=0.9', [['br', 0.8], ['gzip', 0.9]]],
    ['x-gzip', [['gzip', 1]]],
    ['gzip;q=1.000, br;q=0.001, *;q=0', [['gzip', 1], ['br', 0.001], ['*', 0]]],
    ['gzip;q=1.5, br;q=0.0001, zstd;q=abc, identity', [['identity', 1]]],
    ['gzip;q=0.5, gzip;q=1', [['gzip', 0.5]]],
    [', ,br,', [['br', 1]]],
    ['', []],
  ] as const)('%j', (value, expected) => {
    expect([...parseAcceptEncoding(value)]).toEqual(expected);
  });
});

describe('negotiateEncoding with br and gzip variants', () => {
  const both = ['br', 'gzip'] as const;
  it.each([
    [undefined, both, 'identity'],
    ['', both, 'identity'],
    ['gzip, deflate, br', both, 'br'],
    ['gzip, deflate', both, 'gzip'],
    ['x-gzip', both, 'gzip'],
    ['br;q=0.5, gzip;q=0.8', both, 'gzip'],
    ['br;q=0, gzip', both, 'gzip'],
    ['br;q=0, gzip;q=0', both, 'identity'],
    ['*', both, 'br'],
    ['*;q=0.5, gzip', both, 'gzip'],
    ['gzip;q=0.5, identity', both, 'identity'],
    ['gzip;q=0.5', both, 'gzip'],
    ['br;q=0.5, identity;q=0.5', both, 'br'],
    ['*;q=0.2, identity;q=0.9', both, 'identity'],
    ['identity;q=0', both, 'identity'], // nothing else to send
    ['deflate', both, 'identity'],
    ['gzip, br', ['gzip'], 'gzip'],
    ['br', [], 'identity'],
  ] as const)('%j of %j → %s', (value, available, expected) => {
    expect(negotiateEncoding(value, available)).toBe(expected);
  });
});
