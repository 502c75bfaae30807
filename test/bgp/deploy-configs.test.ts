// The configs shipped in deploy/ parse with the real tools, and agree with each other and
// with the sidecar's defaults (protocol names, fail-closed commands).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sidecarSchema } from '../../src/config/schema.js';
import { hasBinary } from '../helpers/netns.js';

const DEPLOY = join(import.meta.dirname, '../../deploy');
const read = (p: string) => readFileSync(join(DEPLOY, p), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'anyedge-deploy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000, env }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

describe('deploy/ configs agree with the sidecar', () => {
  const defaults = sidecarSchema.parse({});
  const edge = read('bird/edge.conf');
  const unit = read('systemd/anyedge-sidecar.service');

  it('edge.conf holds the prefix in the two static protocols the sidecar switches, both disabled at start', () => {
    for (const name of [defaults.birdProtocol, `${defaults.birdProtocol}_prepend`]) {
      const block = new RegExp(`protocol static ${name} \\{([^}]*)\\}`).exec(edge)?.[1];
      expect(block, name).toBeDefined();
      expect(block).toMatch(/^\s*disabled;/m);
      expect(block).toContain(`route ${defaults.prefixes[0]}`);
    }
    expect(edge).toMatch(/graceful restart off;/);
  });

  it('the systemd unit disables both protocols after the sidecar stops, however it stops', () => {
    const stopPost = [...unit.matchAll(/^ExecStopPost=-?(\S+) (.*)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(stopPost).toEqual([
      '/usr/sbin/birdc -s /run/bird/bird.ctl disable anycast',
      '/usr/sbin/birdc -s /run/bird/bird.ctl disable anycast_prepend',
    ]);
    expect(unit).toMatch(/^ExecStart=.* sidecar .*--speaker bird/m);
    expect(unit).toMatch(/^Restart=always$/m);
  });

  it('exabgp.conf runs the sidecar with the exabgp speaker, JSON encoder and neighbour changes', () => {
    const conf = read('exabgp/exabgp.conf');
    expect(conf).toMatch(/run \S+ sidecar .*--speaker exabgp/);
    expect(conf).toMatch(/encoder json;/);
    expect(conf).toMatch(/neighbor-changes;/);
    expect(conf).not.toMatch(/^\s*respawn false/m);
    expect(read('exabgp/exabgp.env')).toMatch(/^respawn = true$/m);
    expect(read('systemd/exabgp.service.d/anyedge.conf')).toMatch(/exabgp_api_ack=true/);
  });
});

const birdMissing = !hasBinary('bird');
if (birdMissing) console.log('[test/bgp/deploy-configs.test.ts] BIRD parse checks skipped: bird not installed (apt-get install -y bird2)');
describe.skipIf(birdMissing)('deploy/bird parses with BIRD 2', () => {
  it.each(['bird/edge.conf', 'bird/router.conf'])('bird -p -c %s', async (file) => {
    const r = await exec('bird', ['-p', '-c', join(DEPLOY, file)]);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });
});

const exaMissing = !hasBinary('exabgp');
if (exaMissing) console.log('[test/bgp/deploy-configs.test.ts] ExaBGP parse check skipped: exabgp not installed (apt-get install -y exabgp)');
describe.skipIf(exaMissing)('deploy/exabgp parses with ExaBGP', () => {
  it('exabgp --test exabgp.conf (with the program path pointed at an existing binary)', async () => {
    const conf = join(tmp, 'exabgp.conf');
    writeFileSync(conf, read('exabgp/exabgp.conf').replace('/usr/bin/anyedge', process.execPath));
    const env = { ...process.env, 'exabgp.daemon.user': process.env['USER'] ?? 'root', 'exabgp.api.cli': 'false' };
    const r = await exec('exabgp', ['--test', conf], env);
    expect(r.out).not.toMatch(/syntax error|invalid|can not locate/);
    expect(r.code).toBe(0);
  });
});
