import { describe, expect, test } from 'vitest';
import { NO_REQUEST_DIRECTIVES, parseDirectives, requestDirectives, responseDirectives } from '../../src/cache/cache-control.js';
import { notStorableReason, reuseFlags } from '../../src/cache/storability.js';
import { parseVary } from '../../src/cache/vary.js';

interface Case {
  cc?: string;
  status?: number;
  method?: string;
  auth?: boolean;
  expires?: boolean;
  vary?: string;
  cookie?: boolean;
  storeSetCookie?: boolean;
  reqCc?: string;
}

function reason(c: Case): string | undefined {
  return notStorableReason({
    method: c.method ?? 'GET',
    status: c.status ?? 200,
    directives: responseDirectives(parseDirectives(c.cc)),
    request: c.reqCc === undefined ? NO_REQUEST_DIRECTIVES : requestDirectives({ 'cache-control': c.reqCc }),
    authorization: c.auth ?? false,
    hasExpires: c.expires ?? false,
    vary: parseVary(c.vary),
    setCookie: c.cookie ?? false,
    storeSetCookie: c.storeSetCookie ?? false,
  });
}

describe('notStorableReason (RFC 9111 §3)', () => {
  test.each<[string, Case, string | undefined]>([
    ['plain 200', {}, undefined],
    ['max-age', { cc: 'max-age=60' }, undefined],
    ['POST', { method: 'POST', cc: 'max-age=60' }, 'method'],
    ['HEAD', { method: 'HEAD', cc: 'max-age=60' }, 'method'],
    ['1xx', { status: 103, cc: 'max-age=60' }, 'status'],
    ['206', { status: 206, cc: 'max-age=60' }, 'status'],
    ['304', { status: 304, cc: 'max-age=60' }, 'status'],
    ['no-store', { cc: 'max-age=60, no-store' }, 'no-store'],
    ['must-understand overrides no-store for a known status', { cc: 'max-age=60, no-store, must-understand' }, undefined],
    ['must-understand with an unknown status', { status: 299, cc: 'max-age=60, no-store, must-understand' }, 'must-understand'],
    ['request no-store', { cc: 'max-age=60', reqCc: 'no-store' }, 'request-no-store'],
    ['private', { cc: 'private, max-age=60' }, 'private'],
    ['private="field" is storable', { cc: 'private="x", max-age=60' }, undefined],
    ['Authorization', { auth: true, cc: 'max-age=60' }, 'authorization'],
    ['Authorization + public', { auth: true, cc: 'max-age=60, public' }, undefined],
    ['Authorization + s-maxage', { auth: true, cc: 's-maxage=60' }, undefined],
    ['Authorization + must-revalidate', { auth: true, cc: 'max-age=60, must-revalidate' }, undefined],
    ['Vary: *', { cc: 'max-age=60', vary: '*' }, 'vary-star'],
    ['Vary: Foo, *', { cc: 'max-age=60', vary: 'Foo, *' }, 'vary-star'],
    ['Set-Cookie', { cc: 'max-age=60', cookie: true }, 'set-cookie'],
    ['Set-Cookie, configured', { cc: 'max-age=60', cookie: true, storeSetCookie: true }, undefined],
    ['201 without freshness', { status: 201 }, 'no-freshness'],
    ['201 with max-age', { status: 201, cc: 'max-age=60' }, undefined],
    ['302 with Expires', { status: 302, expires: true }, undefined],
    ['500 with public', { status: 500, cc: 'public' }, undefined],
    ['404 heuristically cacheable', { status: 404 }, undefined],
  ])('%s', (_name, c, out) => {
    expect(reason(c)).toBe(out);
  });
});

describe('reuseFlags (§3.5, §4.2.4)', () => {
  test.each<[string, { authShareable: boolean; noStale: boolean }]>([
    ['max-age=60', { authShareable: false, noStale: false }],
    ['public', { authShareable: true, noStale: false }],
    ['s-maxage=10', { authShareable: true, noStale: true }],
    ['must-revalidate', { authShareable: true, noStale: true }],
    ['proxy-revalidate', { authShareable: false, noStale: true }],
    ['no-cache', { authShareable: false, noStale: true }],
  ])('%s', (cc, out) => {
    expect(reuseFlags(responseDirectives(parseDirectives(cc)))).toEqual(out);
  });
});
