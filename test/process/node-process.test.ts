// The node as operators run it: supervisor + workers, signals, certificate reload, worker
// replacement, and session resumption across workers.
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { Agent, Pool, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { testPki } from '../helpers/edge.js';
import { CLI, startNodeProcess, waitFor, type NodeProcess } from '../helpers/node-process.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

const run = promisify(execFile);

let origin: TestOrigin;
let node: NodeProcess | undefined;
let pki: Awaited<ReturnType<typeof testPki>>;

beforeAll(async () => {
  origin = await startOrigin();
  pki = await testPki();
});
afterEach(async () => {
  await node?.stop();
  node = undefined;
  origin.handler = (await import('../helpers/origin.js')).echoHandler;
});
afterAll(async () => {
  await origin.close();
});

function baseConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    workers: 2,
    listeners: [{ address: '127.0.0.1', port: 0, tls: true }],
    admin: { address: '127.0.0.1', port: 0 },
    certificates: [{ cert: pki.cert, key: pki.key }],
    hosts: [{ names: ['localhost'], origins: [origin.url] }],
    log: { level: 'info', pretty: false },
    ...extra,
  };
}

/** One TLS connection; resolves once the handshake is done. */
function handshake(port: number, session?: Buffer): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(pki.pki.caFile), ALPNProtocols: ['http/1.1'], ...(session ? { session } : {}) });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

/** The TLS session to resume: TLS 1.3 delivers tickets after the handshake. */
function sessionOf(s: TLSSocket): Promise<Buffer> {
  return new Promise((resolve) => s.once('session', (buf: Buffer) => resolve(buf)));
}

/** GET / over an already-open TLS socket; returns the response head. */
function getOver(s: TLSSocket, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const onData = (d: Buffer): void => {
      data += d;
      const end = data.indexOf('\r\n\r\n');
      if (end >= 0) {
        const len = /content-length: (\d+)/i.exec(data)?.[1];
        if (len === undefined || data.length >= end + 4 + Number(len)) { s.off('data', onData); resolve(data); }
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  });
}

describe('anyedge check', () => {
  test('prints OK and a summary for a valid file, exit 0', async () => {
    const dir = (await import('node:fs')).mkdtempSync('/tmp/anyedge-check-');
    const f = `${dir}/ok.yaml`;
    writeFileSync(f, `listeners: [{ address: 127.0.0.1, port: 8443 }]\ncertificates: [{ cert: ${pki.cert}, key: ${pki.key} }]\nhosts: [{ names: [example.com], origins: ["http://127.0.0.1:8000"] }]\n`);
    const { stdout } = await run(process.execPath, [CLI, 'check', '--config', f]);
    expect(stdout).toMatch(/^OK\n/);
    expect(stdout).toContain('example.com → http://127.0.0.1:8000');
  });

  test('prints every problem with its key path, exit 1', async () => {
    const dir = (await import('node:fs')).mkdtempSync('/tmp/anyedge-check-');
    const f = `${dir}/bad.yaml`;
    writeFileSync(f, 'listeners: [{ port: "x" }]\nhosts: [{ names: [a.test], origins: ["gopher://x"] }]\nworkerz: 2\n');
    const err = await run(process.execPath, [CLI, 'check', '--config', f]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain('workerz: unknown key');
    expect(err?.stderr).toContain('listeners[0].port: expected number, got string');
    expect(err?.stderr).toContain('hosts[0].origins[0]: expected an http:// or https:// origin URL');
  });

  test('certs creates a CA and a localhost certificate once, and leaves them alone after', async () => {
    const dir = `${(await import('node:fs')).mkdtempSync('/tmp/anyedge-certs-')}/certs`;
    const first = await run(process.execPath, [CLI, 'certs', '--dir', dir]);
    expect(first.stdout).toMatch(/^created:/);
    const cert = readFileSync(`${dir}/dev-cert.pem`, 'utf8');
    const { X509Certificate } = await import('node:crypto');
    const x = new X509Certificate(cert);
    expect(x.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x.verify(new X509Certificate(readFileSync(`${dir}/dev-ca.pem`)).publicKey)).toBe(true);
    const second = await run(process.execPath, [CLI, 'certs', '--dir', dir]);
    expect(second.stdout).toMatch(/^already present:/);
    expect(readFileSync(`${dir}/dev-cert.pem`, 'utf8')).toBe(cert);
  });

  test('start refuses a bad config without starting anything', async () => {
    const err = await run(process.execPath, [CLI, 'start', '--listen', 'nowhere', '--origin', origin.url]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain('--listen: expected ADDRESS:PORT');
  });
});

describe('supervisor and workers', () => {
  test('a session resumes on every worker: ticket keys are shared', async () => {
    node = await startNodeProcess(baseConfig());
    const first = await handshake(node.port);
    const session = sessionOf(first);
    await getOver(first);
    const ticket = await session;
    first.end();
    const reused: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      const s = await handshake(node.port, ticket);
      reused.push(s.isSessionReused());
      await getOver(s, `/resume-${i}`);
      s.end();
    }
    expect(reused).toEqual(Array(8).fill(true));
    // The connections really were spread over both workers.
    const lines = await waitFor(() => { const l = node!.logs.filter((x) => String(x['path']).startsWith('/resume-')); return l.length === 8 && l; }, 5000);
    expect(new Set(lines.map((l) => l['worker'])).size).toBe(2);
  });

  test('with a token, /metrics needs it; /healthz and /readyz stay open for probes', async () => {
    const token = 'a-long-enough-admin-token';
    node = await startNodeProcess(baseConfig({ admin: { address: '127.0.0.1', port: 0, token } }));
    const agent = new Agent({ connect: { ca: readFileSync(pki.pki.caFile) } });
    await request(`https://localhost:${node.port}/counted`, { dispatcher: agent }).then((r) => r.body.text());
    await agent.close();
    const denied = await request(`${node.adminUrl}/metrics`);
    expect(denied.statusCode).toBe(401);
    expect(await denied.body.text()).toContain('Authorization: Bearer');
    expect((await request(`${node.adminUrl}/healthz`)).statusCode).toBe(200);
    const ready = await request(`${node.adminUrl}/readyz`);
    expect([200, 503]).toContain(ready.statusCode);
    expect(await ready.body.json()).toHaveProperty('state');
    // A client connection held open while the metrics are scraped.
    const held = await handshake(node.port);
    const allowed = await request(`${node.adminUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(allowed.statusCode).toBe(200);
    const text = await allowed.body.text();
    held.end();
    expect(text).toMatch(/anyedge_open_connections [1-9]/);
    // Summed over both workers, with the supervisor's own metrics beside them.
    expect(text).toMatch(/anyedge_requests_total\{class="2xx",proto="h1"\} 1\b/);
    expect(text).toMatch(/anyedge_request_duration_seconds_count\{class="2xx"\} 1\b/);
    expect(text).toMatch(/anyedge_request_duration_seconds_bucket\{le="\+Inf",class="2xx"\} 1\b/);
    expect(text).toMatch(/anyedge_upstream_duration_seconds_count [1-9]/);
    expect(text).toMatch(/anyedge_workers_alive 2/);
    expect(text).toMatch(/anyedge_tls_handshakes_total\{resumed="false"\} [1-9]/);
    expect(text).toMatch(/anyedge_event_loop_delay_p99_seconds \d/);
    // The echo origin's body went to the client in full: its bytes are counted.
    expect(text).toMatch(/anyedge_response_body_bytes_total [1-9]\d*/);
    expect((await request(`${node.adminUrl}/drain`, { method: 'POST' })).statusCode).toBe(401);
  });

  test('a crashed worker is replaced and the node keeps serving', async () => {
    node = await startNodeProcess(baseConfig());
    const agent = new Agent({ connect: { ca: readFileSync(pki.pki.caFile) } });
    await request(`https://localhost:${node.port}/before`, { dispatcher: agent }).then((r) => r.body.text());
    const pid = await waitFor(() => node!.logs.find((l) => l['path'] === '/before')?.['pid'] as number | undefined, 5000);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => node!.logs.find((l) => l['msg'] === 'worker exited unexpectedly; replacing it'), 20_000);
    await waitFor(async () => {
      const r = await request(`${node!.adminUrl}/readyz`);
      const body = await r.body.json() as { workers: { alive: number } };
      return body.workers.alive === 2;
    }, 30_000, () => 'two workers alive again');
    for (let i = 0; i < 4; i++) {
      const r = await request(`https://localhost:${node.port}/after`, { dispatcher: agent, reset: true });
      expect(r.statusCode).toBe(200);
      await r.body.text();
    }
    await agent.close();
  });

  test('SIGHUP reloads certificates without dropping an open connection', async () => {
    const a = await pki.pki.leaf(['localhost']);
    const b = await pki.pki.leaf(['localhost']);
    const certFile = `${pki.pki.dir}/reload-cert.pem`;
    const keyFile = `${pki.pki.dir}/reload-key.pem`;
    copyFileSync(a.certFile, certFile);
    copyFileSync(a.keyFile, keyFile);
    node = await startNodeProcess(baseConfig({ certificates: [{ cert: certFile, key: keyFile }] }));
    const open = await handshake(node.port);
    const serialBefore = open.getPeerCertificate().serialNumber;
    expect(await getOver(open, '/one')).toMatch(/^HTTP\/1.1 200/);

    // A broken file is refused and the current certificate stays.
    writeFileSync(certFile, 'not a certificate');
    node.proc.kill('SIGHUP');
    await waitFor(() => node!.logs.find((l) => String(l['msg']).startsWith('certificate reload refused')), 5000);
    const still = await handshake(node.port);
    expect(still.getPeerCertificate().serialNumber).toBe(serialBefore);
    still.end();

    copyFileSync(b.certFile, certFile);
    copyFileSync(b.keyFile, keyFile);
    node.proc.kill('SIGHUP');
    await waitFor(() => node!.logs.find((l) => l['msg'] === 'certificates reloaded'), 5000);
    const fresh = await handshake(node.port);
    expect(fresh.getPeerCertificate().serialNumber).not.toBe(serialBefore);
    fresh.end();
    // The connection opened before the reload still works.
    expect(await getOver(open, '/two')).toMatch(/^HTTP\/1.1 200/);
    open.end();
  });

  test('SIGTERM under load: every accepted request is answered, then exit 0', async () => {
    origin.handler = (req, res) => {
      setTimeout(() => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }); res.end('ok'); }, 100);
    };
    // Overload shedding is off: on a busy test machine it may rightly answer 503s, and this
    // test is about the drain alone.
    node = await startNodeProcess(baseConfig({ shutdown: { grace: '300ms', deadline: '10s' }, overload: { enabled: false } }));
    const port = node.port;
    const ca = readFileSync(pki.pki.caFile);
    const results = { ok: 0, refused: 0, failed: [] as string[] };
    let sigtermAt = Infinity;
    let stop = false;
    const loops = Array.from({ length: 16 }, async () => {
      const pool = new Pool(`https://localhost:${port}`, { connections: 1, connect: { ca } });
      // Requests answered on the current connection: 0 means this request opened it.
      let answeredOnConnection = 0;
      pool.on('connect', () => { answeredOnConnection = 0; });
      const deadline = Date.now() + 15_000;
      while (!stop && Date.now() < deadline) {
        try {
          const r = await request(`https://localhost:${port}/load`, { dispatcher: pool });
          await r.body.text();
          answeredOnConnection++;
          if (r.statusCode === 200) results.ok++;
          else results.failed.push(`status ${r.statusCode}`);
        } catch (err) {
          const code = (err as { code?: string }).code ?? '';
          // A connection the node refused after closing its listener was never accepted.
          if (code === 'ECONNREFUSED') { results.refused++; stop = true; }
          else results.failed.push(`${code} ${(err as Error).message} after ${answeredOnConnection} answers on this connection, ${Date.now() - sigtermAt}ms after SIGTERM`);
        }
      }
      await pool.destroy();
    });
    await waitFor(() => results.ok >= 32, 10_000, () => 'load running');
    sigtermAt = Date.now();
    node.proc.kill('SIGTERM');
    const code = await node.exited;
    stop = true;
    await Promise.all(loops);
    expect(code).toBe(0);
    expect(results.failed).toEqual([]);
    expect(results.ok).toBeGreaterThan(32);
    const logs = node.logs;
    expect(logs.some((l) => l['msg'] === 'draining')).toBe(true);
    expect(logs.filter((l) => l['msg'] === 'worker closed').every((l) => l['forced'] === 0)).toBe(true);
  });
});
