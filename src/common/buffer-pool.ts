/**
 * ArrayBuffers handed back for reuse: V8 frees a dropped buffer only when it next collects, so a
 * stream of large buffers made anew per item holds many dead ones at once; taken from the pool, a few
 * serve the whole stream.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(
    private readonly opts: {
      /** New buffers are rounded up to a multiple of this, so one serves items of about the same size. */
      step: number;
      /** Free buffers kept (the smallest goes first). */
      keep: number;
      /** A free buffer serves an item at most this much shorter (default: any). */
      slack?: number;
    },
  ) {}

  /** A buffer of at least `bytes`: the smallest free one that fits, else a new one. */
  take(bytes: number): ArrayBuffer {
    const slack = this.opts.slack ?? Infinity;
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const n = this.free[i]!.byteLength;
      if (n >= bytes && n - bytes <= slack && (best < 0 || n < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0]!;
    return new ArrayBuffer(Math.ceil(bytes / this.opts.step) * this.opts.step);
  }

  /** A buffer no one uses any more. */
  give(buffer: ArrayBuffer): void {
    this.free.push(buffer);
    if (this.free.length > this.opts.keep) this.free.sort((a, b) => b.byteLength - a.byteLength).pop();
  }
}
