// TLS as a client sees it: the certificate SNI picks (exact, wildcard, default; ECDSA or
// RSA chain for one name), protocol versions, ALPN, and session resumption across two
// nodes that share ticket keys (an anycast client moved to another node resumes).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect, type ConnectionOptions, type DetailedPeerCertificate, type PeerCertificate, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { get, h2Request, h2Session, testAgent } from '../helpers/clients.js';
import { startEdge, testPki, type TestEdge } from '../helpers/edge.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

let origin: TestOrigin;
let edge: TestEdge;
let ca: Buffer;

interface Handshake {
  socket: TLSSocket;
  cert: PeerCertificate;
}

function handshake(port: number, opts: ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, ...opts }, () => resolve({ socket, cert: socket.getPeerCertificate() }));
    socket.once('error', reject);
  });
}

/** Handshakes, then waits for the session (TLS 1.3 tickets arrive after the handshake). */
function sessionFrom(port: number, opts: ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, ...opts });
    socket.once('session', (s: Buffer) => { resolve(s); socket.destroy(); });
    socket.once('error', reject);
    socket.resume();
  });
}

async function reused(port: number, opts: ConnectionOptions): Promise<boolean> {
  const { socket } = await handshake(port, opts);
  const r = socket.isSessionReused();
  socket.destroy();
  return r;
}

const sockets: TLSSocket[] = [];
afterEach(() => { for (const s of sockets.splice(0)) s.destroy(); });

beforeAll(async () => {
  const { pki, cert, key } = await testPki();
  ca = readFileSync(pki.caFile);
  const a = await pki.leaf(['a.test']);
  const b = await pki.leaf(['*.b.test']);
  origin = await startOrigin();
  edge = await startEdge({
    certificates: [
      { names: [], cert, key }, // first: the default
      { names: ['a.test'], cert: a.certFile, key: a.keyFile },
      { names: ['*.b.test'], cert: b.certFile, key: b.keyFile },
    ],
    hosts: [{ names: ['localhost', '127.0.0.1'], origins: [origin.url] }],
    cache: { enabled: false },
    overload: { enabled: false },
  });
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
});

async function certFor(servername: string | undefined, extra: ConnectionOptions = {}): Promise<PeerCertificate> {
  const opts: ConnectionOptions = { ...extra, checkServerIdentity: () => undefined };
  if (servername !== undefined) opts.servername = servername;
  const h = await handshake(edge.port, opts);
  sockets.push(h.socket);
  return h.cert;
}

describe('SNI certificate selection', () => {
  it('serves the exact-name certificate', async () => {
    expect((await certFor('a.test')).subjectaltname).toBe('DNS:a.test');
    expect((await certFor('A.TEST')).subjectaltname).toBe('DNS:a.test');
  });

  it('serves the wildcard certificate for one label under it, not two', async () => {
    expect((await certFor('x.b.test')).subjectaltname).toBe('DNS:*.b.test');
    expect((await certFor('deep.x.b.test')).subjectaltname).toContain('DNS:localhost');
    expect((await certFor('b.test')).subjectaltname).toContain('DNS:localhost');
  });

  it('serves the default certificate for unknown names and for no SNI at all', async () => {
    expect((await certFor('unknown.example')).subjectaltname).toContain('DNS:localhost');
    // An IP address is never sent as SNI: this handshake carries none.
    expect((await certFor(undefined)).subjectaltname).toContain('DNS:localhost');
  });

  it('verifies against the CA for the name asked (no checkServerIdentity override)', async () => {
    const h = await handshake(edge.port, { servername: 'api.b.test' });
    sockets.push(h.socket);
    expect(h.socket.authorized).toBe(true);
  });

});

describe('ECDSA and RSA chains for one name', () => {
  const edges: TestEdge[] = [];
  afterAll(async () => { for (const e of edges.splice(0)) await e.close(); });

  async function certFrom(e: TestEdge, servername: string, extra: ConnectionOptions = {}): Promise<DetailedPeerCertificate> {
    const h = await handshake(e.port, { servername, checkServerIdentity: () => undefined, ...extra });
    sockets.push(h.socket);
    return h.cert as DetailedPeerCertificate;
  }

  it('serves the ECDSA chain to a client that accepts it and the RSA chain to an RSA-only client', async () => {
    const { pki } = await testPki();
    const ec = await pki.leaf(['dual.test'], { type: 'ecdsa' });
    const rsa = await pki.leaf(['dual.test'], { type: 'rsa' });
    const e = await startEdge({ certificates: [{ names: ['dual.test'], cert: [ec.certFile, rsa.certFile], key: [ec.keyFile, rsa.keyFile] }] });
    edges.push(e);

    const modern = await certFrom(e, 'dual.test');
    expect(modern.subjectaltname).toBe('DNS:dual.test');
    expect(modern.asn1Curve).toBe('prime256v1');
    expect(modern.modulus).toBeUndefined();
    // TLS 1.3: the certificate type follows the signature algorithms the client offers.
    const rsa13 = await certFrom(e, 'dual.test', { sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' });
    expect(rsa13.subjectaltname).toBe('DNS:dual.test');
    expect(rsa13.modulus).toMatch(/^[0-9A-F]+$/);
    expect(rsa13.bits).toBe(2048);
    // TLS 1.2: the certificate type follows the cipher suite.
    const rsa12 = await certFrom(e, 'dual.test', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
    expect(rsa12.bits).toBe(2048);
    const ec12 = await certFrom(e, 'dual.test', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    expect(ec12.asn1Curve).toBe('prime256v1');
  });

  // Node's SNI switch (UseSNIContext in src/crypto/crypto_tls.cc) copies only the *last*
  // certificate of the selected context into the connection; the other key type's slot keeps
  // the default entry's certificate. CertificateSet loads ECDSA last, so clients that accept
  // ECDSA get the right chain; the cases Node cannot serve are marked `fails` below (KNOWN
  // BUG, see the report) and state the wanted behaviour.
  async function sniDualEdge(): Promise<TestEdge> {
    const { pki, cert, key } = await testPki();
    const ec = await pki.leaf(['dual.test'], { type: 'ecdsa' });
    const rsa = await pki.leaf(['dual.test'], { type: 'rsa' });
    // Listed RSA last, as an operator might: the order must not decide what clients get.
    const e = await startEdge({ certificates: [{ names: [], cert, key }, { names: ['dual.test'], cert: [ec.certFile, rsa.certFile], key: [ec.keyFile, rsa.keyFile] }] });
    edges.push(e);
    return e;
  }

  it('serves the ECDSA chain of a dual entry that SNI selects (not the default)', async () => {
    const e = await sniDualEdge();
    const c = await certFrom(e, 'dual.test');
    expect(c.subjectaltname).toBe('DNS:dual.test');
    expect(c.asn1Curve).toBe('prime256v1');
  });

  it.fails('serves the RSA chain of a dual entry that SNI selects to an RSA-only client', async () => {
    const e = await sniDualEdge();
    expect((await certFrom(e, 'dual.test', { sigalgs: 'rsa_pss_rsae_sha256' })).subjectaltname).toBe('DNS:dual.test');
  });

  it.fails('serves an RSA-only entry that SNI selects under an ECDSA default', async () => {
    const { pki, cert, key } = await testPki();
    const rsa = await pki.leaf(['rsa.test'], { type: 'rsa' });
    const e = await startEdge({ certificates: [{ names: [], cert, key }, { names: ['rsa.test'], cert: rsa.certFile, key: rsa.keyFile }] });
    edges.push(e);
    expect((await certFrom(e, 'rsa.test')).subjectaltname).toBe('DNS:rsa.test');
  });
});

describe('protocol versions and ALPN', () => {
  it.each(['TLSv1', 'TLSv1.1'] as const)('refuses %s with a protocol_version alert', async (version) => {
    // SECLEVEL=0 lets this client offer the old versions at all, so the refusal is the edge's.
    const err = await handshake(edge.port, { minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0', servername: 'localhost' }).then(
      (h) => { sockets.push(h.socket); return undefined; },
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err).toBeDefined();
    expect(`${err!.code} ${err!.message}`).toMatch(/protocol[ _]version/i);
  });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('accepts %s', async (version) => {
    const h = await handshake(edge.port, { minVersion: version, maxVersion: version, servername: 'localhost' });
    sockets.push(h.socket);
    expect(h.socket.getProtocol()).toBe(version);
    expect(h.socket.authorized).toBe(true);
  });

  it('only offers forward-secret AEAD suites on TLS 1.2', async () => {
    const err = await handshake(edge.port, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA256:AES128-GCM-SHA256', servername: 'localhost' }).then(
      (h) => { sockets.push(h.socket); return undefined; },
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/handshake failure|no shared cipher/i);
  });

  it('negotiates h2 and http/1.1 by ALPN, and both carry requests', async () => {
    const h2 = await handshake(edge.port, { ALPNProtocols: ['h2', 'http/1.1'], servername: 'localhost' });
    sockets.push(h2.socket);
    expect(h2.socket.alpnProtocol).toBe('h2');
    const h1 = await handshake(edge.port, { ALPNProtocols: ['http/1.1'], servername: 'localhost' });
    sockets.push(h1.socket);
    expect(h1.socket.alpnProtocol).toBe('http/1.1');

    const session = await h2Session(edge.port, edge.pki.caFile);
    try {
      const r = await h2Request(session, { ':method': 'GET', ':path': '/alpn-h2', ':authority': 'localhost' });
      expect(r.status).toBe(200);
      expect(r.headers['via']).toBe('1.1 anyedge');
    } finally {
      session.close();
    }
    const agent = testAgent(edge.pki.caFile);
    try {
      const r = await get(agent, `https://localhost:${edge.port}/alpn-h1`);
      expect(r.status).toBe(200);
    } finally {
      await agent.close();
    }
    expect(origin.seen.map((s) => s.url)).toEqual(['/alpn-h2', '/alpn-h1']);
    const protos = edge.logs.filter((l) => l['msg'] === 'request').map((l) => l['proto']);
    expect(protos).toEqual(['h2', 'h1']);
  });
});

describe('session resumption with shared ticket keys', () => {
  const edges: TestEdge[] = [];
  afterEach(async () => { for (const e of edges.splice(0)) await e.close(); });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('a %s session from node A resumes on node B with the same keys, not with other keys', async (version) => {
    const keys = randomBytes(48);
    const a = await startEdge({}, { ticketKeys: keys });
    edges.push(a);
    const b = await startEdge({}, { ticketKeys: Buffer.from(keys) });
    edges.push(b);
    const c = await startEdge({}, { ticketKeys: randomBytes(48) });
    edges.push(c);
    const opts: ConnectionOptions = { servername: 'localhost', minVersion: version, maxVersion: version };

    const session = await sessionFrom(a.port, opts);
    expect(await reused(a.port, { ...opts, session })).toBe(true);
    expect(await reused(b.port, { ...opts, session })).toBe(true);
    expect(await reused(c.port, { ...opts, session })).toBe(false);
  });

  it('resumes after SNI selects a non-default certificate', async () => {
    const { pki, cert, key } = await testPki();
    const named = await pki.leaf(['named.test']);
    const keys = randomBytes(48);
    const certificates = [{ names: [], cert, key }, { names: ['named.test'], cert: named.certFile, key: named.keyFile }];
    const a = await startEdge({ certificates }, { ticketKeys: keys });
    edges.push(a);
    const b = await startEdge({ certificates }, { ticketKeys: keys });
    edges.push(b);
    const opts: ConnectionOptions = { servername: 'named.test', minVersion: 'TLSv1.3' };
    const session = await sessionFrom(a.port, opts);
    expect(await reused(b.port, { ...opts, session })).toBe(true);
  });
});
