import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaintenanceFile, parseMaintenance } from '../../src/health/maintenance.js';

const T = Date.UTC(2030, 0, 1, 6, 0, 0);

describe('parseMaintenance', () => {
  it.each([
    ['', {}],
    ['  \n', {}],
    ['2030-01-01T06:00:00Z', { until: T }],
    ['2030-01-01T07:00:00+01:00\n', { until: T }],
    ['2030-01-01 06:00:00Z', { until: T }],
    [`${T / 1000}`, { until: T }],
    [`${T / 1000}\nkernel upgrade\nticket OPS-1`, { until: T, note: 'kernel upgrade\nticket OPS-1' }],
    ['\n\n2030-01-01T06:00:00Z\n  reboot  ', { until: T, note: 'reboot' }],
  ])('%j', (content, want) => {
    expect(parseMaintenance(content)).toEqual(want);
  });

  it.each(['kernel upgrade', 'tomorrow', '2030-13-45T00:00:00Z', '-5', '\u0000\u0001garbage'])('%j is not understood and says so', (content) => {
    const p = parseMaintenance(content);
    expect(p.until).toBeUndefined();
    expect(p.problem).toMatch(/maintenance file content not understood .*expected empty, an ISO-8601 time or epoch seconds/);
  });
});

describe('MaintenanceFile', () => {
  let dir: string;
  let file: string;
  let now: number;
  let lines: Array<Record<string, unknown>>;
  let mf: MaintenanceFile;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'anyedge-maint-'));
    file = join(dir, 'maintenance');
    now = T - 60_000;
    lines = [];
    const log = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
    mf = new MaintenanceFile(file, { now: () => now, log });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is inactive without the file and active (no expiry) with an empty one', async () => {
    expect(await mf.check()).toEqual({ active: false });
    writeFileSync(file, '');
    expect(await mf.check()).toEqual({ active: true });
    expect(lines.filter((l) => l.msg === 'maintenance: node disabled')).toHaveLength(1);
    rmSync(file);
    expect(await mf.check()).toEqual({ active: false });
    expect(lines.filter((l) => l.msg === 'maintenance: node enabled again')).toHaveLength(1);
  });

  it('is ignored once its expiry has passed, with one warning', async () => {
    writeFileSync(file, '2030-01-01T06:00:00Z\nkernel upgrade\n');
    expect(await mf.check()).toEqual({ active: true, until: T, reason: 'kernel upgrade' });

    now = T;
    expect(await mf.check()).toEqual({ active: false });
    now = T + 1000;
    expect(await mf.check()).toEqual({ active: false });
    const expired = lines.filter((l) => l.msg === 'maintenance file has expired and is ignored; remove it');
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({ level: 40, file, until: '2030-01-01T06:00:00.000Z' });

    // A new expiry in the future disables the node again.
    writeFileSync(file, `${(T + 3_600_000) / 1000}`);
    expect(await mf.check()).toEqual({ active: true, until: T + 3_600_000 });
  });

  it('fails safe on content it does not understand', async () => {
    writeFileSync(file, 'back after lunch');
    const s = await mf.check();
    expect(s.active).toBe(true);
    expect(s.until).toBeUndefined();
    expect(s.reason).toMatch(/not understood \("back after lunch"\)/);
  });

  it('fails safe when the file exists but cannot be read', async () => {
    mkdirSync(file); // a directory: stat() succeeds, reading fails with EISDIR
    const s = await mf.check();
    expect(s).toMatchObject({ active: true });
    expect(s.reason).toMatch(/cannot read maintenance file .*EISDIR/);
  });

  it('treats a missing parent directory as no file', async () => {
    const nested = new MaintenanceFile(join(dir, 'absent', 'maintenance'), { now: () => now });
    expect(await nested.check()).toEqual({ active: false });
  });

  it('sees a rewrite of the same size right away', async () => {
    writeFileSync(file, `${(T + 1000) / 1000}`);
    expect(await mf.check()).toMatchObject({ active: true, until: T + 1000 });
    writeFileSync(file, `${(T - 1000) / 1000}`); // same length, same mtime granularity
    now = T;
    expect(await mf.check()).toEqual({ active: false });
  });
});
