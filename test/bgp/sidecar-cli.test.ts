// `anyedge sidecar` as a process: flags, logs on stderr, SIGTERM → withdraw → exit 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/netns.js';
import { bundleSidecar, type SidecarBundle } from '../helpers/netns-sidecar-bundle.js';

let bundle: SidecarBundle;
let server: Server;
let readyz = '';
const children: ChildProcess[] = [];

beforeAll(async () => {
  bundle = bundleSidecar();
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ready":true,"state":"ready","reasons":[]}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  readyz = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  bundle.remove();
});

function sidecar(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [bundle.main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

describe('anyedge sidecar (process)', () => {
  it('log speaker: announces after rise, withdraws on SIGTERM and exits 0; logs only on stderr', async () => {
    const s = sidecar(['--speaker', 'log', '--readyz', readyz, '--interval', '50ms', '--fast-interval', '20ms', '--rise', '2']);
    await waitUntil('the announcement', () => s.err().includes('would announce 192.0.2.1/32'), { timeout: 10_000 });
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    const lines = s.err().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const exit = lines.find((l) => l['event'] === 'transition' && l['to'] === 'EXIT');
    expect(exit).toMatchObject({ from: 'UP', reason: 'SIGTERM' });
    expect(lines.at(-1)).toMatchObject({ msg: 'sidecar stopped', reason: 'SIGTERM' });
    expect(lines.some((l) => l['msg'] === 'would withdraw 192.0.2.1/32')).toBe(true);
    expect(s.out()).toBe(''); // stdout is ExaBGP's API pipe in the exabgp mode
  });

  it.each([
    [['--speaker', 'log', '--readyz', 'http://127.0.0.1:1/readyz', '--interval', 'soon'], /--interval: expected a duration/],
    [['--speaker', 'log', '--readyz', 'http://192.0.2.1:9901/readyz'], /sidecar\.readyz: 192\.0\.2\.1 is inside an announced prefix/],
    [['--speaker', 'log'], /--readyz: required/],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const s = sidecar(args);
    expect(await s.exited).toBe(2);
    expect(s.err()).toMatch(message);
  });
});
