// The BIRD driver against a stand-in control socket that answers as BIRD 2.0.12 does (the
// replies were recorded from a real one); the real BIRD is in sidecar.netns.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { birdCommands } from '../../src/bgp/drivers/bird-control.js';
import { BirdDriver } from '../../src/bgp/drivers/bird-driver.js';
import { memoryLogger } from './sidecar-fakes.js';

const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

function fakeBird(protocols: Record<string, boolean>): Promise<{ socket: string; log: string[]; protocols: Record<string, boolean>; server: Server }> {
  const dir = mkdtempSync(join(tmpdir(), 'anyedge-fakebird-'));
  const socket = join(dir, 'bird.ctl');
  const log: string[] = [];
  const server = createServer((c) => {
    c.write('0001 BIRD 2.0.12 ready.\n');
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        log.push(cmd);
        const m = /^(enable|disable) "([^"]+)"$/.exec(cmd);
        if (m) {
          const [, op, name] = m as unknown as [string, string, string];
          if (!(name in protocols)) { c.write('8003 No protocols match\n'); continue; }
          const want = op === 'enable';
          const code = protocols[name] === want ? (want ? '0010' : '0008') : (want ? '0011' : '0009');
          const already = code === '0010' || code === '0008';
          protocols[name] = want;
          c.write(`${code}-${name}: ${already ? 'already ' : ''}${want ? 'enabled' : 'disabled'}\n0000 \n`);
        } else if (cmd === 'show protocols') {
          const rows = Object.entries(protocols).map(([n, up], i) => `${i === 0 ? '1002-' : ' '}${n}    Static     master4    ${up ? 'up' : 'down'}   01:29:38.909  `);
          c.write(`2002-Name       Proto      Table      State  Since         Info\n${rows.join('\n')}\n0000 \n`);
        } else {
          c.write('9001 syntax error, unexpected CF_SYM_UNDEFINED\n');
        }
      }
    });
  });
  cleanups.push(() => { server.close(); rmSync(dir, { recursive: true, force: true }); });
  return new Promise((resolve) => server.listen(socket, () => resolve({ socket, log, protocols, server })));
}

describe('BIRD control socket', () => {
  it('reads multi-line replies and their final codes', async () => {
    const bird = await fakeBird({ anycast: false, anycast_prepend: false });
    const [a, b, c] = await birdCommands(bird.socket, ['enable "anycast"', 'show protocols', 'frobnicate']);
    expect(a).toMatchObject({ final: 0, lines: [{ code: 11, text: 'anycast: enabled' }, { code: 0, text: '' }] });
    expect(b?.lines.filter((l) => l.code === 1002).map((l) => l.text.trim().split(/\s+/)[0])).toEqual(['anycast', 'anycast_prepend']);
    expect(c?.final).toBe(9001);
  });

  it('fails with the socket path when BIRD is not there', async () => {
    await expect(birdCommands('/nonexistent/bird.ctl', ['show status'], 500)).rejects.toThrow(/\/nonexistent\/bird\.ctl: ENOENT/);
  });
});

describe('BIRD driver', () => {
  it('switches protocols make-before-break and reports changes from BIRD\'s answers', async () => {
    const bird = await fakeBird({ anycast: false, anycast_prepend: false });
    const { log } = memoryLogger();
    const d = new BirdDriver({ socket: bird.socket, protocol: 'anycast', prependProtocol: 'anycast_prepend', log });
    await d.start();
    expect((await d.apply('announce')).changed).toBe(true);
    expect((await d.apply('announce')).changed).toBe(false);
    expect(bird.protocols).toEqual({ anycast: true, anycast_prepend: false });
    bird.log.length = 0;
    expect((await d.apply('announce-prepended')).changed).toBe(true);
    expect(bird.log).toEqual(['enable "anycast_prepend"', 'disable "anycast"']);
    expect((await d.apply('withdraw')).changed).toBe(true);
    expect(bird.protocols).toEqual({ anycast: false, anycast_prepend: false });
  });

  it('without a prepend protocol, OVERLOADED keeps announcing plain (still serving)', async () => {
    const bird = await fakeBird({ anycast: false });
    const { log, lines } = memoryLogger();
    const d = new BirdDriver({ socket: bird.socket, protocol: 'anycast', prependProtocol: 'anycast_prepend', log });
    await d.start();
    expect(lines.some((l) => /no prepend protocol/.test(l.msg))).toBe(true);
    await d.apply('announce-prepended');
    expect(bird.protocols).toEqual({ anycast: true });
  });

  it('throws when BIRD refuses, so the sidecar retries', async () => {
    const bird = await fakeBird({ other: false });
    const { log } = memoryLogger();
    const d = new BirdDriver({ socket: bird.socket, protocol: 'anycast', prependProtocol: undefined, log });
    await expect(d.apply('announce')).rejects.toThrow(/refused: enable "anycast" → 8003 No protocols match/);
  });

  it('refresh restores what someone else changed, and says so', async () => {
    const bird = await fakeBird({ anycast: false, anycast_prepend: false });
    const { log, lines } = memoryLogger();
    const d = new BirdDriver({ socket: bird.socket, protocol: 'anycast', prependProtocol: 'anycast_prepend', log });
    await d.apply('announce');
    bird.protocols['anycast'] = false; // BIRD restarted: protocols come back disabled
    await d.refresh('announce');
    expect(bird.protocols['anycast']).toBe(true);
    expect(lines.some((l) => /restored it/.test(l.msg))).toBe(true);
  });
});
