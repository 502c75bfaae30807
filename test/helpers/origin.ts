// A real origin on 127.0.0.1, port 0, that records what it receives. Tests set `handler`
// per case; the default answers 200 with a small JSON echo of the request.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
}

export interface TestOrigin {
  server: Server;
  url: string;
  port: number;
  seen: SeenRequest[];
  handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
  /** Set to stream: the handler receives the request before its body is read. */
  streaming: boolean;
  /** Forgets what it saw and goes back to the echo handler, buffering (between tests). */
  reset(): void;
  close(): Promise<void>;
}

export function echoHandler(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const text = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLength: body.length });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Makes the origin take requests as they stream in and drop their bodies; the returned
 * function says how the latest upload ended for the origin: 'complete', 'aborted' (the
 * edge cut it), or undefined while it is still open.
 */
export function watchUploads(origin: TestOrigin): () => 'complete' | 'aborted' | undefined {
  let saw: 'complete' | 'aborted' | undefined;
  origin.streaming = true;
  origin.handler = (req) => {
    req.resume();
    req.on('close', () => { saw = req.complete ? 'complete' : 'aborted'; });
    req.on('error', () => undefined);
  };
  return () => saw;
}

export async function startOrigin(): Promise<TestOrigin> {
  const sockets = new Set<Socket>();
  const origin: TestOrigin = {
    server: undefined as unknown as Server,
    url: '',
    port: 0,
    seen: [],
    handler: echoHandler,
    streaming: false,
    reset: () => {
      origin.seen.length = 0;
      origin.handler = echoHandler;
      origin.streaming = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => origin.server.close(() => r()));
    },
  };
  origin.server = createServer((req, res) => {
    if (origin.streaming) {
      origin.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.alloc(0) });
      origin.handler(req, res, Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      origin.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body });
      origin.handler(req, res, body);
    });
  });
  origin.server.on('connection', (s: Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => origin.server.listen(0, '127.0.0.1', () => r()));
  origin.port = (origin.server.address() as AddressInfo).port;
  origin.url = `http://127.0.0.1:${origin.port}`;
  return origin;
}
