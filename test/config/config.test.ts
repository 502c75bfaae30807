import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, validateConfig } from '../../src/config/load.js';
import { parseDuration, parseSize } from '../../src/config/units.js';
import { testPki } from '../helpers/edge.js';

function problems(input: unknown, opts: Parameters<typeof validateConfig>[1] = { skipFileChecks: true }): string[] {
  try {
    validateConfig(input, opts);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const minimal = { listeners: [{ address: '127.0.0.1', port: 8443, tls: false }], hosts: [{ names: ['example.com'], origins: ['http://127.0.0.1:8000'] }] };

describe('units', () => {
  test.each([
    ['200ms', 200], ['2s', 2000], ['1.5s', 1500], ['1m', 60000], ['1h', 3600000], [250, 250], ['10', 10],
  ])('duration %s → %d ms', (v, ms) => expect(parseDuration(v)).toBe(ms));
  test.each(['fast', '2 days', '-1s', ''])('duration %j is rejected', (v) => expect(parseDuration(v)).toBeUndefined());
  test.each([['16kb', 16384], ['8mb', 8 * 1024 * 1024], ['1gb', 1024 ** 3], [1024, 1024], ['512', 512]])('size %s → %d bytes', (v, b) => expect(parseSize(v)).toBe(b));
});

describe('config validation names the key', () => {
  test('a minimal config is valid and gets documented defaults', () => {
    const c = validateConfig(minimal, { skipFileChecks: true });
    expect(c.limits.maxHeaderSize).toBe(16384);
    expect(c.limits.maxConcurrentStreams).toBe(100);
    expect(c.origin.headersTimeout).toBe(30_000);
    expect(c.admin).toMatchObject({ address: '127.0.0.1', port: 9901 });
    expect(Object.isFrozen(c) && Object.isFrozen(c.limits)).toBe(true);
  });

  test.each([
    [{ ...minimal, listener: [] }, 'listener: unknown key'],
    [{ ...minimal, limits: { maxBodySize: 'lots' } }, 'limits.maxBodySize: expected a size like "16kb"'],
    [{ ...minimal, listeners: [{ port: '443' }] }, 'listeners[0].port: expected number, got string'],
    [{ ...minimal, listeners: [{ port: 70000, tls: false }] }, 'listeners[0].port:'],
    [{ ...minimal, origin: { headersTimeout: 'soon' } }, 'origin.headersTimeout: expected a duration'],
    [{ ...minimal, hosts: [{ names: ['a.test'], origins: ['ftp://x'] }] }, 'hosts[0].origins[0]: expected an http:// or https:// origin URL'],
    [{ ...minimal, hosts: [{ names: ['a.test'], origins: ['http://x:1/path'] }] }, 'hosts[0].origins[0]: an origin URL names scheme, host and port only'],
    [{ ...minimal, hosts: [{ names: ['a.test'] }] }, 'hosts[0]: needs origins, static, or both'],
    [{ ...minimal, hosts: [{ names: ['a.test'], origins: ['http://x:1'] }, { names: ['a.test'], origins: ['http://y:1'] }] }, 'hosts[1].names: "a.test" is already served by hosts[0]'],
    [{ ...minimal, defaultHost: 'nope.test' }, 'defaultHost: "nope.test" is not one of hosts[].names'],
    [{ ...minimal, admin: { address: '10.0.0.1' } }, 'admin.token: required when admin.address (10.0.0.1) is not loopback'],
    [{ ...minimal, listeners: [{ address: '127.0.0.1', port: 443 }] }, 'certificates: a TLS listener needs at least one certificate'],
    [{ ...minimal, workers: 0 }, 'workers:'],
    [{ ...minimal, overload: { eventLoopDelayMs: { low: 500, high: 50 } } }, 'overload.eventLoopDelayMs.high: high must be greater than low'],
  ])('%j → %s', (input, message) => {
    const p = problems(input);
    expect(p.join('\n')).toContain(message);
  });

  test('every problem is reported at once, not just the first', () => {
    const p = problems({ ...minimal, workers: 'two', limits: { maxHeaderSize: 'big' }, bogus: 1 });
    expect(p.length).toBeGreaterThanOrEqual(3);
  });

  test('files are checked: missing certificate and unreadable key are named', async () => {
    const { cert } = await testPki();
    const p = problems({ ...minimal, listeners: [{ port: 8443 }], certificates: [{ cert, key: '/nonexistent/key.pem' }] }, {});
    expect(p).toContain('certificates[0].key: file not found: /nonexistent/key.pem');
    const q = problems({ ...minimal, listeners: [{ port: 8443 }], certificates: [{ cert, key: cert }] }, {});
    expect(q.join()).toMatch(/certificates\[0\]: cannot load certificate\/key/);
  });

  test('YAML errors and duplicate keys are reported with the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'anyedge-cfg-'));
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'workers: 1\nworkers: 2\n');
    expect(() => loadConfig({ file: f })).toThrow(/bad\.yaml: .*YAML/s);
    expect(() => loadConfig({ file: join(dir, 'missing.yaml') })).toThrow(/cannot read .*missing\.yaml: ENOENT/);
  });

  test('flags override the file; --origin alone serves every Host', () => {
    const c = validateConfig({}, { origin: 'http://127.0.0.1:8000', listen: '127.0.0.1:9443', admin: '127.0.0.1:9902', workers: 3, devCertificate: { cert: 'c.pem', key: 'k.pem' }, skipFileChecks: true });
    expect(c.hosts).toEqual([expect.objectContaining({ names: ['*'], origins: ['http://127.0.0.1:8000'] })]);
    expect(c.listeners).toEqual([{ address: '127.0.0.1', port: 9443, tls: true }]);
    expect(c.admin.port).toBe(9902);
    expect(c.workers).toBe(3);
    expect(() => validateConfig({}, { listen: 'localhost', skipFileChecks: true })).toThrow(/--listen: expected ADDRESS:PORT/);
  });
});

describe('ticket key file', () => {
  test('48 bytes raw, as 96 hex digits or as base64 are read; anything else is refused by name', async () => {
    const { randomBytes } = await import('node:crypto');
    const { readTicketKey } = await import('../../src/config/load.js');
    const dir = mkdtempSync(join(tmpdir(), 'anyedge-tk-'));
    const key = randomBytes(48);
    const raw = join(dir, 'raw.key'); writeFileSync(raw, key);
    const hex = join(dir, 'hex.key'); writeFileSync(hex, `${key.toString('hex')}\n`);
    const b64 = join(dir, 'b64.key'); writeFileSync(b64, key.toString('base64'));
    const short = join(dir, 'short.key'); writeFileSync(short, randomBytes(32));
    expect(readTicketKey(raw)).toEqual(key);
    expect(readTicketKey(hex)).toEqual(key);
    expect(readTicketKey(b64)).toEqual(key);
    expect(readTicketKey(short)).toBeUndefined();
    expect(problems({ ...minimal, tls: { ticketKeyFile: short } }, {}).join()).toContain('tls.ticketKeyFile: expected 48 bytes');
  });
});
