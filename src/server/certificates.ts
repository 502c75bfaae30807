// Certificate generation for development and tests: a local CA and leaf certificates
// (ECDSA P-256 by default, RSA on request). Real keys are never generated or committed here.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it loaded first
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as never);

export type KeyType = 'ecdsa' | 'rsa';

export interface IssuedCertificate {
  cert: string;
  key: string;
}

export interface CertificateAuthority extends IssuedCertificate {
  /** Kept in memory to sign leaves. */
  privateKey: CryptoKey;
  certificate: x509.X509Certificate;
}

function algorithm(type: KeyType): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  return type === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
    : { name: 'ECDSA', namedCurve: 'P-256' };
}

function signingAlgorithm(type: KeyType): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return type === 'rsa' ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: 'SHA-256' };
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}

/** A self-signed CA valid for ten years. */
export async function createCertificateAuthority(commonName = 'anyedge development CA', type: KeyType = 'ecdsa'): Promise<CertificateAuthority> {
  const keys = await webcrypto.subtle.generateKey(algorithm(type), true, ['sign', 'verify']) as CryptoKeyPair;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 10 * 365 * 86400_000),
    signingAlgorithm: signingAlgorithm(type),
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: certificate.toString('pem'), key: await keyPem(keys.privateKey), privateKey: keys.privateKey, certificate };
}

export interface LeafOptions {
  /** DNS names ("localhost", "*.example.com") and IP addresses ("127.0.0.1", "::1"). */
  names: string[];
  type?: KeyType;
  /** Server certificate (default) or client certificate for mTLS. */
  usage?: 'server' | 'client';
  days?: number;
}

/** A leaf certificate signed by ca, for names (first one is the CN). */
export async function issueCertificate(ca: CertificateAuthority, opts: LeafOptions): Promise<IssuedCertificate> {
  const type = opts.type ?? 'ecdsa';
  const keys = await webcrypto.subtle.generateKey(algorithm(type), true, ['sign', 'verify']) as CryptoKeyPair;
  const now = Date.now();
  const alt = opts.names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.names[0] ?? 'anyedge'}`,
    issuer: ca.certificate.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + (opts.days ?? 825) * 86400_000),
    signingAlgorithm: signingAlgorithm(caType(ca)),
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (type === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : 0), true),
      new x509.ExtendedKeyUsageExtension([opts.usage === 'client' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(alt),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

function caType(ca: CertificateAuthority): KeyType {
  return ca.privateKey.algorithm.name === 'ECDSA' ? 'ecdsa' : 'rsa';
}

export interface DevCertificatePaths {
  dir: string;
  caCert: string;
  cert: string;
  key: string;
  /** True when this call created them. */
  created: boolean;
}

export const DEV_CERT_NAMES = ['localhost', '127.0.0.1', '::1'];

/**
 * Development CA and an ECDSA P-256 leaf for localhost, 127.0.0.1 and ::1 in dir, created
 * only if absent. The CA's key is not kept: nothing else can be signed with it later.
 */
export async function ensureDevCertificates(dir: string): Promise<DevCertificatePaths> {
  const paths = { dir, caCert: join(dir, 'dev-ca.pem'), cert: join(dir, 'dev-cert.pem'), key: join(dir, 'dev-key.pem') };
  if (existsSync(paths.cert) && existsSync(paths.key) && existsSync(paths.caCert)) return { ...paths, created: false };
  mkdirSync(dir, { recursive: true });
  const ca = await createCertificateAuthority();
  const leaf = await issueCertificate(ca, { names: DEV_CERT_NAMES });
  writeFileSync(paths.caCert, `${ca.cert.trim()}\n`);
  writeFileSync(paths.cert, `${leaf.cert.trim()}\n${ca.cert.trim()}\n`);
  writeFileSync(paths.key, `${leaf.key.trim()}\n`, { mode: 0o600 });
  return { ...paths, created: true };
}
