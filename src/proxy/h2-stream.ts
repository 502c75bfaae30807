// h2 requests on Node's core stream API, without the compatibility layer
// (Http2ServerRequest/Http2ServerResponse). That layer costs about a third of a bare h2
// server's CPU per request (bench: bare-h2stream against bare): per-stream request and
// response objects with six listeners each, every response header validated twice, and a
// trailers round trip (waitForTrailers) that ends every response with an extra empty DATA
// frame. The pipeline needs little of that; these two classes give it what it uses, with
// the behaviour of the compatibility layer where a client can see it:
// - `100-continue` is answered before the request is handled; any other expectation is
//   refused by the request filter (417), as Node's HTTP/1.1 server does;
// - stream errors never reach the process ('error' has a listener; the log line comes from
//   'close' as for every request);
// - a HEAD, 204 or 304 answer ends the stream with its HEADERS frame.
import type { OutgoingHttpHeaders } from 'node:http';
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Writable } from 'node:stream';

/** What request.socket gives the pipeline: one per session, not a proxy per request. */
export interface H2Peer {
  readonly remoteAddress: string | undefined;
  readonly encrypted: true;
}

const PEER = Symbol('anyedge.h2peer');
type PeerSession = ServerHttp2Session & { [PEER]?: H2Peer };

function peerOf(session: PeerSession | undefined): H2Peer {
  if (!session) return { remoteAddress: undefined, encrypted: true };
  let peer = session[PEER];
  if (peer === undefined) {
    // session.socket is a proxy: read through it once per connection, not once per request.
    peer = { remoteAddress: session.socket?.remoteAddress, encrypted: true };
    session[PEER] = peer;
  }
  return peer;
}

export class H2Request {
  readonly httpVersion = '2.0';
  readonly stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly socket: H2Peer;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]) {
    this.stream = stream;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.socket = peerOf(stream.session as PeerSession | undefined);
  }

  get method(): string | undefined {
    return this.headers[':method'];
  }

  /** The :path pseudo-header (absent on CONNECT, which the request filter refuses). */
  get url(): string | undefined {
    return this.headers[':path'];
  }
}

function ignoreError(): void {
  // As in Node's compatibility layer: a reset or a failed write ends in 'close', which the
  // pipeline logs; an 'error' without a listener would end the process.
}

/**
 * The response side of one stream. writeHead() keeps the head until the body is known, so a
 * bodiless answer goes out as one HEADERS frame with END_STREAM, and a 1 KiB hit as HEADERS
 * plus one DATA frame.
 */
export class H2Response {
  readonly stream: ServerHttp2Stream;
  statusCode = 200;
  /** Given to writeHead() and not sent yet. */
  #head: OutgoingHttpHeaders | null = null;

  constructor(stream: ServerHttp2Stream) {
    this.stream = stream;
    stream.on('error', ignoreError);
  }

  get headersSent(): boolean {
    return this.#head !== null || this.stream.headersSent;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  get writableFinished(): boolean {
    return this.stream.writableFinished;
  }

  /** 'close' once the stream is closed (answered, reset or cancelled). */
  on(event: 'close', listener: () => void): this {
    this.stream.on(event, listener);
    return this;
  }

  /** Takes ownership of `headers` (adds :status to it); sent with the body or at end(). */
  writeHead(status: number, headers: OutgoingHttpHeaders): this {
    if (this.stream.destroyed || this.stream.closed) return this;
    if (this.headersSent) throw new Error('writeHead() after the response head was sent');
    headers[':status'] = status;
    this.statusCode = status;
    this.#head = headers;
    return this;
  }

  /**
   * Sends the head (if writeHead() kept one) and returns the stream to write or pipe the
   * body into. Throws as stream.respond() does for a head it refuses (a connection-specific
   * field, an invalid value): the head is dropped, so an error answer can still be sent.
   */
  body(): Writable {
    this.#flush(false);
    return this.stream;
  }

  end(chunk?: Buffer | string): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    const empty = chunk === undefined || chunk.length === 0;
    this.#flush(empty);
    if (!stream.writableEnded) {
      if (empty) stream.end();
      else stream.end(chunk);
    }
  }

  destroy(err?: Error): void {
    if (!this.stream.destroyed) this.stream.destroy(err);
  }

  #flush(endStream: boolean): void {
    const head = this.#head;
    if (head === null) {
      if (!this.stream.headersSent) this.stream.respond({ ':status': this.statusCode }, { endStream });
      return;
    }
    this.#head = null;
    this.stream.respond(head, { endStream });
  }
}
