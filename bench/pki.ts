// One CA and one ECDSA P-256 leaf per run, for every subject: same certificate type, same
// chain length, same names.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../src/server/certificates.js';
import type { BenchPki } from './subjects/types.js';

export async function createBenchPki(dir: string): Promise<BenchPki> {
  const ca = await createCertificateAuthority('anyedge bench CA', 'ecdsa');
  const leaf = await issueCertificate(ca, { names: ['localhost', '127.0.0.1', '::1'], type: 'ecdsa' });
  const pki: BenchPki = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), pemFile: join(dir, 'cert-key.pem') };
  writeFileSync(pki.caFile, ca.cert);
  const nl = (pem: string): string => (pem.endsWith('\n') ? pem : `${pem}\n`);
  writeFileSync(pki.certFile, nl(leaf.cert));
  writeFileSync(pki.keyFile, nl(leaf.key), { mode: 0o600 });
  writeFileSync(pki.pemFile, nl(leaf.cert) + nl(leaf.key), { mode: 0o600 });
  return pki;
}
