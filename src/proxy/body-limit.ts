// Streams a request body onward while counting it: past the limit the stream fails with
// 413, so a chunked upload cannot exceed what a Content-Length one may send.
import { Transform, type TransformCallback } from 'node:stream';
import { AnyedgeError } from '../errors.js';

export class BodyLimit extends Transform {
  #seen = 0;
  readonly #limit: number;

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#limit) {
      cb(new AnyedgeError('BODY_TOO_LARGE', `request body exceeds the limit of ${this.#limit} bytes`));
      return;
    }
    cb(null, chunk);
  }
}
