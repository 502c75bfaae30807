// Origin error rate over a sliding window, fed by the pipeline after every origin request.
//
// The window is a ring of time buckets (default 10 × 1 s): record() is two array writes and
// never allocates, so it can sit on the request path. Below `minSamples` requests in the
// window the rate is 0: one failure out of one request is not a failing origin, and a quiet
// node must not shed or withdraw on noise.

export interface OriginErrorWindowOptions {
  /** Length of the window. Default 10 000 ms. */
  windowMs?: number;
  /** Buckets in the window; the window slides by windowMs / buckets. Default 10. */
  buckets?: number;
  /** Requests needed in the window before the rate counts. Default 20. */
  minSamples?: number;
  /** Monotonic milliseconds. Default performance.now. */
  now?: () => number;
}

export class OriginErrorWindow {
  readonly #bucketMs: number;
  readonly #minSamples: number;
  readonly #now: () => number;
  /** Absolute bucket number (time / bucketMs) each slot holds; -1 = never used. */
  readonly #ids: Float64Array;
  readonly #total: Float64Array;
  readonly #errors: Float64Array;

  constructor(opts: OriginErrorWindowOptions = {}) {
    const windowMs = opts.windowMs ?? 10_000;
    const buckets = Math.max(1, Math.floor(opts.buckets ?? 10));
    this.#bucketMs = windowMs / buckets;
    this.#minSamples = opts.minSamples ?? 20;
    this.#now = opts.now ?? (() => performance.now());
    this.#ids = new Float64Array(buckets).fill(-1);
    this.#total = new Float64Array(buckets);
    this.#errors = new Float64Array(buckets);
  }

  /** One finished origin request: ok = the origin answered (any status below 500). */
  record(ok: boolean): void {
    const id = Math.floor(this.#now() / this.#bucketMs);
    const i = id % this.#ids.length;
    if (this.#ids[i] !== id) {
      this.#ids[i] = id;
      this.#total[i] = 0;
      this.#errors[i] = 0;
    }
    this.#total[i]! += 1;
    if (!ok) this.#errors[i]! += 1;
  }

  /** Requests and failures inside the window now. */
  counts(): { total: number; errors: number } {
    const current = Math.floor(this.#now() / this.#bucketMs);
    const oldest = current - this.#ids.length + 1;
    let total = 0;
    let errors = 0;
    for (let i = 0; i < this.#ids.length; i++) {
      const id = this.#ids[i]!;
      if (id >= oldest && id <= current) {
        total += this.#total[i]!;
        errors += this.#errors[i]!;
      }
    }
    return { total, errors };
  }

  /** Failures / requests in the window; 0 below minSamples requests. */
  rate(): number {
    const { total, errors } = this.counts();
    return total < this.#minSamples || total === 0 ? 0 : errors / total;
  }
}
