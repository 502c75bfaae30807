import { describe, expect, test } from 'vitest';
import { NO_REQUEST_DIRECTIVES, requestDirectives } from '../../src/cache/cache-control.js';
import { reuseDecision, staleIfErrorAllowed, type ReuseState } from '../../src/cache/reuse.js';

const base: ReuseState & { age: number } = { age: 0, lifetime: 60_000, noCache: false, noStale: false, immutable: false, staleWhileRevalidate: undefined, staleIfError: undefined, invalidated: false };
const req = (cc?: string) => (cc === undefined ? NO_REQUEST_DIRECTIVES : requestDirectives({ 'cache-control': cc }));

describe('reuseDecision (RFC 9111 §4, §4.2.4, §5.2.1, RFC 5861)', () => {
  test.each<[string, Partial<typeof base>, string | undefined, string]>([
    ['fresh', { age: 10_000 }, undefined, 'fresh'],
    ['exactly at the lifetime is stale', { age: 60_000 }, undefined, 'validate'],
    ['stale', { age: 70_000 }, undefined, 'validate'],
    ['response no-cache', { noCache: true }, undefined, 'validate'],
    ['request no-cache', {}, 'no-cache', 'validate'],
    ['request max-age satisfied', { age: 10_000 }, 'max-age=20', 'fresh'],
    ['request max-age too young', { age: 10_000 }, 'max-age=5', 'validate'],
    ['request max-age=0', { age: 1 }, 'max-age=0', 'validate'],
    ['min-fresh satisfied', { age: 10_000 }, 'min-fresh=50', 'fresh'],
    ['min-fresh not satisfied', { age: 10_000 }, 'min-fresh=51', 'validate'],
    ['max-stale accepts', { age: 70_000 }, 'max-stale=20', 'stale-allowed'],
    ['max-stale too small', { age: 90_000 }, 'max-stale=20', 'validate'],
    ['max-stale without a value', { age: 9_000_000 }, 'max-stale', 'stale-allowed'],
    ['max-stale but must-revalidate', { age: 70_000, noStale: true }, 'max-stale', 'validate'],
    ['stale-while-revalidate window', { age: 70_000, staleWhileRevalidate: 30_000 }, undefined, 'stale-while-revalidate'],
    ['beyond the window', { age: 100_000, staleWhileRevalidate: 30_000 }, undefined, 'validate'],
    ['swr but must-revalidate', { age: 70_000, staleWhileRevalidate: 30_000, noStale: true }, undefined, 'validate'],
    ['swr but the request wants fresher', { age: 70_000, staleWhileRevalidate: 30_000 }, 'max-age=100', 'validate'],
    ['soft-purged fresh', { age: 10_000, invalidated: true }, undefined, 'validate'],
    ['immutable and fresh: a reload is answered from storage', { age: 10_000, immutable: true }, 'no-cache', 'fresh'],
    ['immutable and fresh: max-age=0 too', { age: 10_000, immutable: true }, 'max-age=0', 'fresh'],
    ['immutable but min-fresh not satisfied', { age: 10_000, immutable: true }, 'min-fresh=55', 'validate'],
    ['immutable and stale', { age: 70_000, immutable: true }, 'no-cache', 'validate'],
    ['immutable with response no-cache', { age: 10_000, immutable: true, noCache: true }, undefined, 'validate'],
    ['immutable soft-purged', { age: 10_000, immutable: true, invalidated: true }, 'no-cache', 'validate'],
    ['soft-purged within swr', { age: 70_000, invalidated: true, staleWhileRevalidate: 30_000 }, undefined, 'validate'],
  ])('%s', (_name, state, cc, out) => {
    const s = { ...base, ...state };
    expect(reuseDecision(s, s.age, req(cc))).toBe(out);
  });
});

describe('staleIfErrorAllowed (RFC 5861 §4, RFC 9111 §4.2.4)', () => {
  test.each<[string, Partial<typeof base>, string | undefined, number, boolean]>([
    ['no window', { age: 70_000 }, undefined, 0, false],
    ['default window', { age: 70_000 }, undefined, 30_000, true],
    ['beyond default window', { age: 100_000 }, undefined, 30_000, false],
    ['response window', { age: 70_000, staleIfError: 20_000 }, undefined, 0, true],
    ['response window beats default', { age: 100_000, staleIfError: 20_000 }, undefined, 300_000, false],
    ['request window', { age: 70_000 }, 'stale-if-error=60', 0, true],
    ['request narrows', { age: 70_000, staleIfError: 600_000 }, 'stale-if-error=1', 0, false],
    ['must-revalidate prohibits', { age: 70_000, noStale: true, staleIfError: 600_000 }, undefined, 600_000, false],
    ['soft-purged object within the window', { age: 10_000, invalidated: true }, undefined, 30_000, true],
  ])('%s', (_name, state, cc, def, out) => {
    const s = { ...base, ...state };
    expect(staleIfErrorAllowed(s, s.age, req(cc), def)).toBe(out);
  });
});
