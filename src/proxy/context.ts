// Everything one request carries through the phases. Created once per request; phases read
// and fill it; the log phase writes it out.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { H2Request, H2Response } from './h2-stream.js';

/** HTTP/1.1 from Node's http server; h2 from the core stream API (h2-stream.ts). */
export type EdgeRequest = IncomingMessage | H2Request;
export type EdgeResponse = ServerResponse | H2Response;

export interface RequestContext {
  readonly req: EdgeRequest;
  readonly res: EdgeResponse;
  readonly id: string;
  /** performance.now() at request headers. */
  readonly start: number;
  readonly proto: 'h1' | 'h2';
  readonly scheme: 'https' | 'http';
  readonly method: string;
  /** The authority the client asked for (Host or :authority, or absolute-form's). */
  host: string;
  /** origin-form target: path + query. */
  target: string;
  readonly clientIp: string;
  /** Filled by the phases, read by the log phase. */
  status: number;
  upstreamMs: number;
  cache: string;
  origin: string | undefined;
  error: unknown;
  /** Body length the response declared (Content-Length), for the log and byte metrics. */
  length: number | undefined;
  /** A forwarded request's link to its origin exchange: aborted when the client leaves early. */
  clientGone: { abort(): void } | undefined;
}

// Request ids: a random per-process prefix plus a counter — unique, cheap, sortable per worker.
const PREFIX = randomBytes(6).toString('hex');
let counter = 0;
export function newRequestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PREFIX}-${counter.toString(36)}`;
}
