// Certificates generated once per test file: a CA, leaves for the names a test needs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type KeyType } from '../../src/server/certificates.js';

export interface TestPki {
  dir: string;
  ca: CertificateAuthority;
  caFile: string;
  /** Issues a leaf and writes cert/key files; returns their paths and PEM. */
  leaf(names: string[], opts?: { type?: KeyType; usage?: 'server' | 'client' }): Promise<{ certFile: string; keyFile: string; cert: string; key: string }>;
}

let counter = 0;

export async function createTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'anyedge-pki-'));
  const ca = await createCertificateAuthority('anyedge test CA');
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.cert);
  return {
    dir,
    ca,
    caFile,
    async leaf(names, opts = {}) {
      const issued = await issueCertificate(ca, { names, ...opts });
      const n = ++counter;
      const certFile = join(dir, `leaf${n}.pem`);
      const keyFile = join(dir, `leaf${n}-key.pem`);
      writeFileSync(certFile, issued.cert);
      writeFileSync(keyFile, issued.key);
      return { certFile, keyFile, ...issued };
    },
  };
}
