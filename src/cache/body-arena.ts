// Small stored bodies packed side by side into shared slabs. A Buffer of its own costs a body
// two JS objects and an ArrayBuffer (~180 B of heap beside the bytes), and a body read from an
// origin socket is a view that keeps the whole read — status line and header block included —
// alive. In a slab a body is an offset and a length into memory shared with its neighbours.
//
// Slabs are written once, front to back: space is never reused, so a Buffer already handed
// to a client for a body that is then evicted stays valid (it keeps its slab alive until it
// has been sent). A slab is dropped when its last body goes.
//
// Fragmentation: a body that goes while its neighbours stay leaves a hole that stays
// allocated, and a slab retired because the next body did not fit keeps its unused end.
// Both are `waste`: the store charges it against cache.maxSize together with its objects
// (so what it reports is what it retains). Holes are bounded by compaction: once they pass
// `compactAbove` the store moves the bodies of the sparsest slabs into the current one
// (copy-out; see sparseSlabs) and those slabs are dropped. Unused ends are bounded by what
// is packed: bodies up to 1/16 of a slab, so each end is under 1/16 of its slab; larger
// bodies keep memory of their own.

/** One slab: `used` bytes handed out from the front, `live` of them still stored. */
export class Slab {
  readonly buf: Buffer;
  used = 0;
  live = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }
}

/** Caches smaller than this do not pack: a slab would be too large a share of them. */
const MIN_PACKING_CACHE = 256 * 1024;
const MAX_SLAB = 64 * 1024;

export class BodyArena {
  /** Bytes per slab (0: packing off). */
  readonly slabSize: number;
  /** Largest body packed; larger ones are stored in memory of their own. */
  readonly maxPacked: number;
  /** Holes above which the store compacts (sparseSlabs); it compacts down to half of it. */
  readonly compactAbove: number;
  readonly #compactTo: number;
  readonly #slabs = new Set<Slab>();
  #current: Slab | undefined;
  #retained = 0;
  /** Σ slab.used: bytes handed out, stored or holes. */
  #used = 0;
  #live = 0;

  /** Sized for a cache of `maxSize` bytes: slabs of at most 1/64 of it (≤ 64 KiB). */
  constructor(maxSize: number) {
    if (maxSize < MIN_PACKING_CACHE) {
      this.slabSize = 0;
      this.maxPacked = 0;
    } else {
      let s = MAX_SLAB;
      while (s > maxSize / 64) s /= 2;
      this.slabSize = s;
      this.maxPacked = s / 16;
    }
    this.compactAbove = Math.max(4 * this.slabSize, Math.floor(maxSize / 32));
    this.#compactTo = Math.floor(this.compactAbove / 2);
  }

  /** Slab bytes allocated that hold no stored body: holes and the unused end of the current slab. */
  get waste(): number {
    return this.#retained - this.#live;
  }

  /** Bytes of bodies gone from slabs still allocated (the part of waste compaction can recover). */
  get holes(): number {
    return this.#used - this.#live;
  }

  /** Slab bytes allocated. */
  get retained(): number {
    return this.#retained;
  }

  get slabs(): number {
    return this.#slabs.size;
  }

  /**
   * Copies a body (1…maxPacked bytes) into the current slab, opening a new one when it does
   * not fit, and counts it as stored. Returns the slab; the body is at `slab.used - body.length`.
   */
  copyIn(body: Buffer): Slab {
    const n = body.length;
    let slab = this.#current;
    if (slab === undefined || slab.used + n > this.slabSize) {
      slab = new Slab(this.slabSize);
      this.#slabs.add(slab);
      this.#retained += this.slabSize;
      const old = this.#current;
      this.#current = slab;
      if (old !== undefined && old.live === 0) this.#drop(old);
    }
    // set(), not body.copy(): copy() validates and normalises its arguments in JS first.
    slab.buf.set(body, slab.used);
    slab.used += n;
    slab.live += n;
    this.#used += n;
    this.#live += n;
    return slab;
  }

  /** A body of `length` bytes in `slab` is no longer stored. */
  release(slab: Slab, length: number): void {
    slab.live -= length;
    this.#live -= length;
    if (this.#live === 0) {
      // Nothing stored at all: give everything back, the current slab included.
      this.#slabs.clear();
      this.#retained = 0;
      this.#used = 0;
      this.#current = undefined;
    } else if (slab.live === 0 && slab !== this.#current) {
      this.#drop(slab);
    }
  }

  /**
   * When holes are above compactAbove: the slabs whose bodies the store should move (it
   * releases each body and copies it in again; emptied, the slab is dropped) — sparsest
   * first, until holes are back to half the threshold. Undefined otherwise. Moving creates
   * no holes, so holes must grow by half the threshold again before the next compaction.
   *
   * Cost: a slab is chosen only while holes exceed 1/32 of the cache, so even when they are
   * spread evenly over every slab it is at most ~31 bytes copied per byte of holes freed;
   * with LRU eviction, which empties old slabs whole, it is far less.
   */
  sparseSlabs(): ReadonlySet<Slab> | undefined {
    if (this.holes <= this.compactAbove) return undefined;
    const candidates = [...this.#slabs].filter((s) => s !== this.#current && s.used > s.live).sort((a, b) => a.live - b.live);
    const out = new Set<Slab>();
    let holes = this.holes;
    for (const s of candidates) {
      if (holes <= this.#compactTo) break;
      out.add(s);
      holes -= s.used - s.live;
    }
    return out.size === 0 ? undefined : out;
  }

  #drop(slab: Slab): void {
    this.#slabs.delete(slab);
    this.#retained -= this.slabSize;
    this.#used -= slab.used;
  }
}
