import { describe, expect, it } from 'vitest';
import { evaluatePreconditions } from '../../src/http/conditional.js';
import type { PreconditionResult, Validators } from '../../src/http/conditional.js';

const LM = Date.UTC(2024, 0, 10, 12, 0, 0) + 750; // sub-second mtime, as files have
const AT_LM = 'Wed, 10 Jan 2024 12:00:00 GMT';
const BEFORE = 'Wed, 10 Jan 2024 11:59:59 GMT';
const AFTER = 'Wed, 10 Jan 2024 12:00:01 GMT';
const REP: Validators = { etag: '"v1"', lastModified: LM };

type Case = [string, string, Record<string, string | string[]>, Validators, PreconditionResult];

describe('evaluatePreconditions (RFC 9110 §13.1, order of §13.2.2)', () => {
  const cases: Case[] = [
    ['no conditions', 'GET', {}, REP, 'proceed'],
    // If-Match: strong comparison
    ['If-Match matches', 'GET', { 'if-match': '"v1"' }, REP, 'proceed'],
    ['If-Match in list', 'PUT', { 'if-match': '"v0", "v1"' }, REP, 'proceed'],
    ['If-Match differs', 'GET', { 'if-match': '"v0"' }, REP, 'precondition-failed'],
    ['If-Match weak never matches', 'GET', { 'if-match': 'W/"v1"' }, REP, 'precondition-failed'],
    ['If-Match against weak current', 'GET', { 'if-match': '"v1"' }, { etag: 'W/"v1"' }, 'precondition-failed'],
    ['If-Match * with a representation', 'GET', { 'if-match': '*' }, REP, 'proceed'],
    ['If-Match without current ETag', 'GET', { 'if-match': '"v1"' }, { lastModified: LM }, 'precondition-failed'],
    ['If-Match malformed matches nothing', 'GET', { 'if-match': 'v1' }, REP, 'precondition-failed'],
    // If-Match takes precedence over If-Unmodified-Since
    ['If-Match true ignores IUS', 'GET', { 'if-match': '"v1"', 'if-unmodified-since': BEFORE }, REP, 'proceed'],
    // If-Unmodified-Since
    ['IUS at Last-Modified', 'GET', { 'if-unmodified-since': AT_LM }, REP, 'proceed'],
    ['IUS after', 'GET', { 'if-unmodified-since': AFTER }, REP, 'proceed'],
    ['IUS before', 'DELETE', { 'if-unmodified-since': BEFORE }, REP, 'precondition-failed'],
    ['IUS invalid date ignored', 'GET', { 'if-unmodified-since': 'yesterday' }, REP, 'proceed'],
    ['IUS without Last-Modified ignored', 'GET', { 'if-unmodified-since': BEFORE }, { etag: '"v1"' }, 'proceed'],
    ['IUS twice ignored', 'GET', { 'if-unmodified-since': [BEFORE, BEFORE] }, REP, 'proceed'],
    // If-None-Match: weak comparison
    ['INM matches GET', 'GET', { 'if-none-match': '"v1"' }, REP, 'not-modified'],
    ['INM matches HEAD', 'HEAD', { 'if-none-match': '"v1"' }, REP, 'not-modified'],
    ['INM weak matches', 'GET', { 'if-none-match': 'W/"v1"' }, REP, 'not-modified'],
    ['INM in list', 'GET', { 'if-none-match': '"a", "v1"' }, REP, 'not-modified'],
    ['INM split over lines', 'GET', { 'if-none-match': ['"a"', '"v1"'] }, REP, 'not-modified'],
    ['INM differs', 'GET', { 'if-none-match': '"v0"' }, REP, 'proceed'],
    ['INM * GET', 'GET', { 'if-none-match': '*' }, REP, 'not-modified'],
    ['INM matches on POST → 412', 'POST', { 'if-none-match': '"v1"' }, REP, 'precondition-failed'],
    ['INM * on PUT → 412', 'PUT', { 'if-none-match': '*' }, REP, 'precondition-failed'],
    ['INM malformed matches nothing', 'GET', { 'if-none-match': 'v1' }, REP, 'proceed'],
    // If-Modified-Since
    ['IMS at Last-Modified', 'GET', { 'if-modified-since': AT_LM }, REP, 'not-modified'],
    ['IMS after', 'HEAD', { 'if-modified-since': AFTER }, REP, 'not-modified'],
    ['IMS before', 'GET', { 'if-modified-since': BEFORE }, REP, 'proceed'],
    ['IMS obsolete format', 'GET', { 'if-modified-since': 'Wednesday, 10-Jan-24 12:00:00 GMT' }, REP, 'not-modified'],
    ['IMS invalid ignored', 'GET', { 'if-modified-since': 'not a date' }, REP, 'proceed'],
    ['IMS twice ignored', 'GET', { 'if-modified-since': [AT_LM, AT_LM] }, REP, 'proceed'],
    ['IMS on POST ignored', 'POST', { 'if-modified-since': AT_LM }, REP, 'proceed'],
    ['IMS without Last-Modified', 'GET', { 'if-modified-since': AT_LM }, { etag: '"v1"' }, 'proceed'],
    ['INM present: IMS ignored', 'GET', { 'if-none-match': '"v0"', 'if-modified-since': AFTER }, REP, 'proceed'],
    // order: If-Match failure wins over If-None-Match
    ['IM fails before INM', 'GET', { 'if-match': '"v0"', 'if-none-match': '"v1"' }, REP, 'precondition-failed'],
    ['IUS fails before IMS', 'GET', { 'if-unmodified-since': BEFORE, 'if-modified-since': AFTER }, REP, 'precondition-failed'],
    ['IM ok then INM matches', 'GET', { 'if-match': '"v1"', 'if-none-match': '"v1"' }, REP, 'not-modified'],
    ['Header names are lower-case in the map', 'GET', { 'If-None-Match': '"v1"' }, REP, 'proceed'],
  ];
  it.each(cases)('%s', (_name, method, headers, rep, expected) => {
    expect(evaluatePreconditions(method, headers, rep)).toBe(expected);
  });
});
