// One error base with a stable code, the source it came from and whether a retry may help.
// The HTTP status for an error is chosen in exactly one place: statusFor() below.

export type ErrorSource = 'upstream' | 'downstream' | 'internal' | 'request' | 'config';

export const ErrorCodes = {
  // request: the client sent something we refuse (4xx)
  BAD_REQUEST: { source: 'request', status: 400 },
  MISDIRECTED: { source: 'request', status: 421 },
  METHOD_NOT_ALLOWED: { source: 'request', status: 405 },
  HEADERS_TOO_LARGE: { source: 'request', status: 431 },
  BODY_TOO_LARGE: { source: 'request', status: 413 },
  NOT_FOUND: { source: 'request', status: 404 },
  EXPECTATION_FAILED: { source: 'request', status: 417 },
  ONLY_IF_CACHED: { source: 'request', status: 504 },
  // upstream: the origin failed us
  UPSTREAM_CONNECT: { source: 'upstream', status: 502 },
  UPSTREAM_RESET: { source: 'upstream', status: 502 },
  UPSTREAM_TIMEOUT: { source: 'upstream', status: 504 },
  UPSTREAM_TLS: { source: 'upstream', status: 502 },
  UPSTREAM_PROTOCOL: { source: 'upstream', status: 502 },
  NO_ORIGIN: { source: 'upstream', status: 502 },
  // the node protects itself
  OVERLOADED: { source: 'internal', status: 503 },
  // downstream: the client went away; there is no one to answer
  CLIENT_ABORTED: { source: 'downstream', status: 499 },
  INTERNAL: { source: 'internal', status: 500 },
  /** The sidecar could not tell its BGP speaker what to do. */
  BGP_SPEAKER: { source: 'internal', status: 500 },
  CONFIG: { source: 'config', status: 500 },
} as const satisfies Record<string, { source: ErrorSource; status: number }>;

export type ErrorCode = keyof typeof ErrorCodes;

export interface AnyedgeErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  /** Extra response headers (Allow, Retry-After, Content-Range). */
  headers?: Record<string, string>;
}

export class AnyedgeError extends Error {
  override readonly name = 'AnyedgeError';
  /** Stable, documented code: `AE_UPSTREAM_TIMEOUT`. */
  readonly code: `AE_${ErrorCode}`;
  readonly kind: ErrorCode;
  readonly source: ErrorSource;
  readonly retryable: boolean;
  readonly headers: Record<string, string> | undefined;

  constructor(kind: ErrorCode, message: string, options: AnyedgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.code = `AE_${kind}`;
    this.source = ErrorCodes[kind].source;
    this.retryable = options.retryable ?? false;
    this.headers = options.headers;
  }
}

/** The status a client sees for an error: by its source and kind, decided only here. */
export function statusFor(err: unknown): number {
  if (err instanceof AnyedgeError) return ErrorCodes[err.kind].status;
  return 500;
}

/** What an undici / socket error means for the request that hit it. */
export function fromUpstreamError(err: unknown, origin: string): AnyedgeError {
  const code = (err as { code?: string } | null)?.code ?? '';
  const msg = (err as Error | null)?.message ?? String(err);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new AnyedgeError('UPSTREAM_TIMEOUT', `connect to origin ${origin} timed out`, { cause: err, retryable: true });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new AnyedgeError('UPSTREAM_TIMEOUT', `origin ${origin} sent no response headers in time`, { cause: err });
    case 'UND_ERR_BODY_TIMEOUT':
      return new AnyedgeError('UPSTREAM_TIMEOUT', `origin ${origin} stalled while sending the body`, { cause: err });
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EADDRNOTAVAIL':
      return new AnyedgeError('UPSTREAM_CONNECT', `cannot connect to origin ${origin}: ${code}`, { cause: err, retryable: true });
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new AnyedgeError('UPSTREAM_RESET', `origin ${origin} closed the connection: ${msg}`, { cause: err });
    case 'UND_ERR_RESPONSE_STATUS_CODE':
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'UND_ERR_INFO':
      return new AnyedgeError('UPSTREAM_PROTOCOL', `origin ${origin} sent an invalid response: ${msg}`, { cause: err });
    default:
      if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /certificate|self.signed|SSL/i.test(msg)) {
        return new AnyedgeError('UPSTREAM_TLS', `TLS to origin ${origin} failed: ${msg}`, { cause: err });
      }
      if (code.startsWith('HPE_')) {
        return new AnyedgeError('UPSTREAM_PROTOCOL', `origin ${origin} sent an invalid response: ${msg}`, { cause: err });
      }
      return new AnyedgeError('UPSTREAM_RESET', `origin ${origin} failed: ${code || msg}`, { cause: err });
  }
}
