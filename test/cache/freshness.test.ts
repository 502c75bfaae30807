import { describe, expect, test } from 'vitest';
import { parseDirectives, responseDirectives } from '../../src/cache/cache-control.js';
import { freshnessLifetime, heuristicLifetime } from '../../src/cache/freshness.js';

const T = Date.UTC(2030, 0, 15, 12, 0, 0);
const date = (offsetSeconds: number) => new Date(T + offsetSeconds * 1000).toUTCString();
const cfg = { heuristicFraction: 0.1, heuristicMax: 86_400_000 };

function lifetime(status: number, headers: Record<string, string>, useExpires = true) {
  const directives = responseDirectives(parseDirectives(headers['cache-control']));
  const d = headers['date'] === undefined ? undefined : Date.parse(headers['date']);
  return freshnessLifetime({ status, directives, useExpires, headers, date: Number.isNaN(d) ? undefined : d, responseTime: T }, cfg);
}

describe('freshnessLifetime (RFC 9111 §4.2.1)', () => {
  test.each<[string, number, Record<string, string>, number, boolean]>([
    // name, status, headers, lifetime ms, heuristic
    ['s-maxage over max-age', 200, { 'cache-control': 'max-age=3600, s-maxage=10' }, 10_000, false],
    ['s-maxage over a shorter max-age', 200, { 'cache-control': 'max-age=1, s-maxage=3600' }, 3_600_000, false],
    ['max-age over Expires', 200, { 'cache-control': 'max-age=60', expires: date(-1000), date: date(0) }, 60_000, false],
    ['max-age=0 with a future Expires', 200, { 'cache-control': 'max-age=0', expires: date(1000), date: date(0) }, 0, false],
    ['Expires − Date', 200, { expires: date(300), date: date(0) }, 300_000, false],
    ['Expires before Date', 200, { expires: date(300), date: date(400) }, 0, false],
    ['Expires − response time without Date', 200, { expires: date(100) }, 100_000, false],
    ['invalid Expires means expired', 200, { expires: '0', date: date(0), 'last-modified': date(-86400) }, 0, false],
    ['Expires in UTC is invalid', 200, { expires: 'Thu, 18 Aug 2050 02:01:18 UTC', date: date(0) }, 0, false],
    ['heuristic: 10% of Date − Last-Modified', 200, { date: date(0), 'last-modified': date(-3600) }, 360_000, true],
    ['heuristic capped by heuristicMax', 200, { date: date(0), 'last-modified': date(-100 * 86400) }, 86_400_000, true],
    ['heuristic for 404', 404, { date: date(0), 'last-modified': date(-3600) }, 360_000, true],
    ['no heuristic for 201', 201, { date: date(0), 'last-modified': date(-3600) }, 0, true],
    ['no heuristic for 503', 503, { date: date(0), 'last-modified': date(-3600) }, 0, true],
    ['heuristic for any status with public', 599, { 'cache-control': 'public', date: date(0), 'last-modified': date(-3600) }, 360_000, true],
    ['nothing at all', 200, {}, 0, true],
  ])('%s', (_name, status, headers, ms, heuristic) => {
    const f = lifetime(status, headers);
    expect([f.lifetime, f.heuristic]).toEqual([ms, heuristic]);
  });

  test('Expires is ignored when a targeted field governs (RFC 9213 §2.1)', () => {
    expect(lifetime(200, { expires: date(300), date: date(0) }, false).lifetime).toBe(0);
  });
});

describe('heuristicLifetime (§4.2.2)', () => {
  test.each<[Record<string, string>, number]>([
    [{ 'last-modified': date(-1000) }, 100_000],
    [{ 'last-modified': date(1000) }, 0], // modified in the future
    [{ 'last-modified': 'yesterday' }, 0],
  ])('%j', (headers, out) => {
    expect(heuristicLifetime({ status: 200, directives: responseDirectives(new Map()), useExpires: true, headers, date: T, responseTime: T }, cfg)).toBe(out);
  });
});
