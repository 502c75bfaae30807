// TLS termination settings and SNI selection. Contexts are built once per certificate entry
// and swapped whole on reload (SIGHUP): a handshake sees either the old set or the new one,
// and established connections keep the context they started with.
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { CertificateConfig } from '../config/schema.js';
import { NameTable } from '../http/name-table.js';

/**
 * TLS 1.2 suites: forward-secret AEAD only (Mozilla "intermediate" minus DHE). TLS 1.3
 * suites are all modern and left at OpenSSL's default order.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
export const TLS13_CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';
export const ECDH_CURVES = 'X25519:P-256:P-384';

export interface TlsCommon {
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** 48 bytes shared by all workers (and, from a file, all nodes): resumption anywhere. */
  ticketKeys: Buffer;
  /** Seconds a session ticket stays valid. */
  sessionTimeout: number;
}

export function baseSecureOptions(common: TlsCommon): SecureContextOptions {
  return {
    minVersion: common.minVersion,
    ciphers: `${TLS13_CIPHERS}:${TLS12_CIPHERS}`,
    ecdhCurve: ECDH_CURVES,
    honorCipherOrder: true,
    sessionTimeout: common.sessionTimeout,
    ticketKeys: common.ticketKeys,
  };
}

/** Key type of a PEM chain's first (leaf) certificate: 'ec', 'rsa', …; undefined if unreadable. */
function certKeyType(pem: Buffer): string | undefined {
  try {
    return new X509Certificate(pem).publicKey.asymmetricKeyType;
  } catch {
    return undefined;
  }
}

function privateKeyType(pem: Buffer): string | undefined {
  try {
    return createPrivateKey(pem).asymmetricKeyType;
  } catch {
    return undefined;
  }
}

export function randomTicketKeys(): Buffer {
  return randomBytes(48);
}

interface LoadedCertificate {
  names: string[];
  options: SecureContextOptions;
  context: SecureContext;
}

/** SNI names → secure contexts: exact match, then wildcard (one label), then the default (first). */
export class CertificateSet {
  #names = new NameTable<SecureContext>();
  #default!: LoadedCertificate;
  readonly #configs: readonly CertificateConfig[];
  readonly #common: TlsCommon;

  constructor(configs: readonly CertificateConfig[], common: TlsCommon) {
    if (configs.length === 0) throw new Error('at least one certificate is required for a TLS listener');
    this.#configs = configs;
    this.#common = common;
    this.reload();
  }

  /** Re-reads every certificate and key file; on any error throws and keeps the current set. */
  reload(): void {
    const loaded = this.#configs.map((c): LoadedCertificate => {
      // Node's SNI switch (UseSNIContext, src/crypto/crypto_tls.cc) installs only the chosen
      // context's current (last-loaded) certificate and key; for the other key type the
      // connection keeps the default entry's. Load ECDSA last, so that clients preferring it
      // (nearly all) get this name's ECDSA chain rather than the default's; an RSA-only client
      // still gets the default's RSA chain or none (see test/server/tls.test.ts).
      const ecLast = (type: (pem: Buffer) => string | undefined) => (a: Buffer, b: Buffer) => Number(type(a) === 'ec') - Number(type(b) === 'ec');
      const options: SecureContextOptions = {
        ...baseSecureOptions(this.#common),
        cert: c.cert.map((f) => readFileSync(f)).sort(ecLast(certKeyType)),
        key: c.key.map((f) => readFileSync(f)).sort(ecLast(privateKeyType)),
      };
      const context = createSecureContext(options);
      // Every SNI context must share the ticket keys, or resumption fails after SNI switches context.
      context.context.setTicketKeys(this.#common.ticketKeys);
      return { names: c.names, options, context };
    });
    const names = new NameTable<SecureContext>();
    for (const l of loaded) for (const n of l.names) names.add(n, l.context);
    this.#names = names;
    this.#default = loaded[0]!;
  }

  /** Options for the server itself: the default certificate. */
  get defaultOptions(): SecureContextOptions {
    return this.#default.options;
  }

  select(servername: string | undefined): SecureContext {
    return (servername ? this.#names.match(servername.toLowerCase()) : undefined) ?? this.#default.context;
  }

  /** For tls.Server's SNICallback. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    cb(null, this.select(servername));
  };
}
