// Response bodies on their way from the origin: read whole (small objects), or streamed to
// the first client while a copy is kept for the store (large objects).
import { PassThrough, type Readable } from 'node:stream';
import { AnyedgeError } from '../errors.js';

/** A body failure is the origin's: a reset or a stall (the pipeline's fetch sets timeouts). */
export function bodyError(err: unknown): AnyedgeError {
  if (err instanceof AnyedgeError) return err;
  return new AnyedgeError('UPSTREAM_RESET', `origin failed while sending the body: ${(err as Error | null)?.message ?? String(err)}`, { cause: err });
}

/** Reads a body whole. More than `max` bytes → an error: the origin sent more than it announced. */
export async function readBody(body: Readable | null, max: number): Promise<Buffer> {
  if (body === null) return Buffer.alloc(0);
  // An origin body (src/upstream/origin-pool.ts) can hand over its bytes without streaming them.
  const whole = body as Readable & { collect?: (max: number) => Promise<Buffer> };
  if (typeof whole.collect === 'function') {
    try {
      return await whole.collect(max);
    } catch (err) {
      throw bodyError(err);
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      size += b.length;
      if (size > max) {
        body.destroy();
        throw new AnyedgeError('UPSTREAM_PROTOCOL', `origin sent more than the ${max} bytes it announced`);
      }
      chunks.push(b);
    }
  } catch (err) {
    throw bodyError(err);
  }
  return chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size);
}

/** Drops a body that will not be used, without keeping its bytes. */
export function discardBody(body: Readable | null, destroy = false): void {
  if (body === null || body.destroyed) return;
  body.on('error', () => undefined);
  if (destroy) body.destroy();
  else body.resume();
}

export interface Capture {
  /** What the client reads: the origin's bytes as they arrive. */
  readonly stream: Readable;
  /**
   * The whole body once the origin has sent it, or undefined when it grew beyond the limit
   * (then nothing is kept and the client stream is paced by the client again). Rejects when
   * the origin fails mid-body.
   */
  readonly done: Promise<Buffer | undefined>;
}

/**
 * Streams `source` to a client while keeping a copy of up to `limit` bytes.
 *
 * While the copy is kept the origin is read at its own pace (the bytes are held for the
 * store anyway, so a slow client costs no more memory than the object), and a client that
 * goes away does not stop the copy — waiters on the same key depend on it. Once the body
 * outgrows the limit the copy is dropped, reading follows the client's backpressure, and a
 * client that goes away ends the origin read too.
 */
export function captureBody(source: Readable, limit: number): Capture {
  const client = new PassThrough();
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  let ended = false;
  let clientGone = false;
  let settle!: (b: Buffer | undefined) => void;
  let fail!: (e: unknown) => void;
  const done = new Promise<Buffer | undefined>((resolve, reject) => { settle = resolve; fail = reject; });
  // Nobody may await `done` (a background refresh whose caller is gone): never unhandled.
  done.catch(() => undefined);

  const giveUpCopy = (): void => {
    if (chunks === undefined) return;
    chunks = undefined;
    settle(undefined);
  };
  source.on('data', (chunk: Buffer) => {
    if (chunks !== undefined) {
      size += chunk.length;
      if (size > limit) {
        giveUpCopy();
        if (clientGone) { source.destroy(); return; }
      } else {
        chunks.push(chunk);
      }
    }
    if (clientGone || client.destroyed) return;
    if (!client.write(chunk) && chunks === undefined) source.pause();
  });
  client.on('drain', () => { if (!clientGone) source.resume(); });
  source.once('end', () => {
    ended = true;
    if (!clientGone && !client.destroyed) client.end();
    if (chunks !== undefined) {
      const body = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size);
      chunks = undefined;
      settle(body);
    }
  });
  const onSourceFailure = (err: unknown): void => {
    if (ended) return;
    ended = true;
    const e = bodyError(err);
    if (!client.destroyed) client.destroy(e);
    if (chunks !== undefined) {
      chunks = undefined;
      fail(e);
    }
  };
  source.once('error', onSourceFailure);
  source.once('close', () => { if (!ended) onSourceFailure(new Error('origin closed the body early')); });
  client.once('close', () => {
    if (ended) return;
    clientGone = true;
    if (chunks === undefined) source.destroy();
    else source.resume();
  });
  // A client stream destroyed by its consumer must not surface as an unhandled error.
  client.on('error', () => undefined);
  return { stream: client, done };
}
