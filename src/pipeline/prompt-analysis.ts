/**
 * Image prompts analysed on a worker thread (`ingest`): BLAKE3 of the base64 text, decoding, SHA-256
 * of the image were a third of `ingest`'s main thread at four endpoints (each 200-550 KB prompt at
 * about 360 MB/s). The main thread hands a long field to the thread as it is parsed (the field's
 * buffer is transferred, not copied) and goes on parsing the next reads; the event is handed on
 * some reads later (`ingest` holds each read's events back a fixed number of reads) with its
 * analysis, so the tracker gets what it would have computed itself (`analysePrompt`, the same
 * function, run there) and nothing depends on how fast the thread is.
 *
 * A prompt's second copy ("Generating for prompt") is compared byte for byte with the last few the
 * thread analysed and shares that analysis: each prompt is hashed once, as the tracker did.
 */
import { Worker } from 'node:worker_threads';
import { MIN_IMAGE_BASE64, type Prompt } from '../assemble/prompt';
import type { LogEvent } from '../parse';
import { keepStreamingFlags } from '../common/streaming-flags';
import { workerScript } from '../common/worker-script';
import { CollectorError } from '../common/errors';
import { BufferPool } from '../common/buffer-pool';

/** How many ids back a copy may point (the thread compares only with analyses that recent). */
export const RECENT_KEPT = 8;

/**
 * What the thread sends back: an analysis, the id of an earlier one (the same prompt), or why it
 * failed; and the fields' buffers it no longer needs (`done`: dropped here, where they are freed soon).
 */
export type AnalysisReply = { id: number; prompt: Prompt; done: ArrayBuffer[] } | { id: number; sameAs: number; done: ArrayBuffer[] } | { id: number; error: string };
/** What the thread is sent: a field's bytes, and whether to send back the decoded image (to store it). */
export interface AnalysisRequest {
  id: number;
  bytes: Uint8Array;
  images: boolean;
}

export class PromptAnalysis {
  private nextId = 0;
  private readonly ids = new WeakMap<LogEvent, number>();
  /** Per field submitted and not taken yet, its analysis (to come, or come). */
  private readonly results = new Map<number, Promise<Prompt>>();
  /** Per field out on the thread, how its analysis comes. */
  private readonly out = new Map<number, { resolve: (p: Prompt) => void; reject: (err: Error) => void }>();
  /** The last analyses, by id, for a later copy to point at (`sameAs`: at most RECENT_KEPT ids back). */
  private readonly recent = new Map<number, Prompt>();
  private failed: Error | null = null;
  /**
   * Buffers for long fields' copies, which the thread sends back when done: about as many as are out at
   * once (the reads held back, the thread's recent ones); 64 KB steps, prompts being 200-550 KB.
   */
  private readonly buffers = new BufferPool({ step: 64 * 1024, keep: 16, slack: 128 * 1024 });
  private readonly pooled = new WeakSet<ArrayBuffer>();

  private constructor(
    private readonly worker: Worker,
    /** The decoded images are wanted (the config stores them). */
    private readonly images: boolean,
  ) {
    worker.on('message', (m: AnalysisReply) => this.onReply(m));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`it exited (code ${code})`)));
  }

  /** A thread, or null where none can run (TypeScript sources under jest: the tracker analyses in place). */
  static start(images: boolean): PromptAnalysis | null {
    const script = workerScript(__dirname, 'prompt-analysis-worker.js');
    if (!script) return null;
    // it keeps next to nothing: a small young generation
    return new PromptAnalysis(keepStreamingFlags(new Worker(script, { resourceLimits: { maxYoungGenerationSizeMb: 2 } })), images);
  }

  /** A long field's copy (the parser's): in a buffer the thread sent back, when one fits. */
  copy(src: Buffer): Buffer {
    if (src.length < MIN_IMAGE_BASE64) return Buffer.from(src);
    const ab = this.buffers.take(src.length);
    this.pooled.add(ab);
    const b = Buffer.from(ab, 0, src.length);
    src.copy(b);
    return b;
  }

  /**
   * Hands the event's long field to the thread: from here on the event's bytes belong to it (the
   * tracker gets the analysis instead, `take`). A short field stays with the event.
   */
  submit(e: LogEvent): void {
    const bytes = e.long;
    // after a failure the fields stay with their events (`ingest` stops at the first one that was out)
    // shorter fields are text whatever they hold: analysed in place
    if (!bytes || bytes.length < MIN_IMAGE_BASE64 || this.ids.has(e) || this.failed) return;
    const id = this.nextId++;
    this.ids.set(e, id);
    const promise = new Promise<Prompt>((resolve, reject) => this.out.set(id, { resolve, reject }));
    // taken (or the failure reported) by `take`: no unhandled rejection meanwhile
    promise.catch(() => {});
    this.results.set(id, promise);
    // a copy from `copy` owns its buffer and moves; any other field is copied
    const ab = bytes.buffer as ArrayBuffer;
    const own = bytes.byteOffset === 0 && this.pooled.has(ab) ? new Uint8Array(ab, 0, bytes.length) : new Uint8Array(bytes);
    const request: AnalysisRequest = { id, bytes: own, images: this.images };
    this.worker.postMessage(request, [own.buffer as ArrayBuffer]);
  }

  /** Whether the event's long field went to the thread (`take` gives its analysis). */
  holds(e: LogEvent): boolean {
    return this.ids.has(e);
  }

  /** The event's analysis once it is back; null when its field was not submitted. Rejects when the thread failed. */
  async take(e: LogEvent): Promise<Prompt | null> {
    const id = this.ids.get(e);
    if (id === undefined) return null;
    this.ids.delete(e);
    const promise = this.results.get(id)!;
    this.results.delete(id);
    return promise;
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private onReply(m: AnalysisReply): void {
    if ('error' in m) {
      this.fail(new Error(m.error));
      return;
    }
    for (const ab of m.done) this.buffers.give(ab);
    const p = 'prompt' in m ? revive(m.prompt) : this.recent.get(m.sameAs);
    if (!p) {
      this.fail(new Error(`a reply pointed at analysis ${(m as { sameAs: number }).sameAs}, no longer kept`));
      return;
    }
    this.out.get(m.id)?.resolve(p);
    this.out.delete(m.id);
    this.recent.set(m.id, p);
    // replies come in id order: the oldest is first
    for (const k of this.recent.keys()) {
      if (k >= m.id - RECENT_KEPT) break;
      this.recent.delete(k);
    }
  }

  /** Every field still out fails with it: `ingest` stops with the reason (what it wrote stays, a rerun goes on). */
  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = new CollectorError('UNKNOWN', `the prompt analysis thread failed: ${err.message}`, null, 'run the same ingest again: what it wrote stays, and it writes the rest', { cause: err });
    for (const r of this.out.values()) r.reject(this.failed);
    this.out.clear();
  }
}

/** A transferred image's bytes come back as a plain Uint8Array: a Buffer again. */
function revive(p: Prompt): Prompt {
  if (p.kind === 'text') return p;
  const b = p.bytes as Uint8Array;
  return { ...p, bytes: Buffer.from(b.buffer, b.byteOffset, b.byteLength) };
}
