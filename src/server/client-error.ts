// What an HTTP/1.1 parser error tells the client. Each message names the problem, because
// "400 Bad Request" alone sends an operator to a packet capture.

export interface ClientErrorResponse {
  status: number;
  message: string;
  /** For the client_errors metric. */
  code: string;
}

const BY_CODE: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
  // What llhttp means by each (its reason strings): UNEXPECTED_CONTENT_LENGTH is "Duplicate
  // Content-Length" (even two equal values); INVALID_CONTENT_LENGTH is a bad character or
  // Content-Length after Transfer-Encoding; INVALID_TRANSFER_ENCODING is a coding list not
  // ending in chunked, or Transfer-Encoding after Content-Length.
  HPE_UNEXPECTED_CONTENT_LENGTH: [400, 'Bad Request: duplicate Content-Length'],
  HPE_INVALID_CONTENT_LENGTH: [400, 'Bad Request: invalid Content-Length, or Content-Length with Transfer-Encoding'],
  HPE_INVALID_TRANSFER_ENCODING: [400, 'Bad Request: invalid Transfer-Encoding, or Transfer-Encoding with Content-Length'],
  HPE_INVALID_CHUNK_SIZE: [400, 'Bad Request: invalid chunk size'],
  HPE_INVALID_HEADER_TOKEN: [400, 'Bad Request: invalid header field'],
  HPE_INVALID_METHOD: [400, 'Bad Request: invalid method'],
  HPE_INVALID_URL: [400, 'Bad Request: invalid request target'],
  HPE_INVALID_VERSION: [400, 'Bad Request: invalid HTTP version'],
  HPE_LF_EXPECTED: [400, 'Bad Request: malformed line ending'],
  HPE_CR_EXPECTED: [400, 'Bad Request: malformed line ending'],
  HPE_INVALID_CONSTANT: [400, 'Bad Request: malformed request'],
};

export function clientErrorResponse(err: NodeJS.ErrnoException): ClientErrorResponse {
  const code = err.code ?? 'UNKNOWN';
  const known = BY_CODE[code];
  if (known) return { status: known[0], message: known[1], code };
  return { status: 400, message: 'Bad Request: malformed request', code };
}
