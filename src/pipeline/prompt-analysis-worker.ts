/** The prompt analysis thread (prompt-analysis.ts): each field's analysis, in the order submitted. */
import { parentPort } from 'node:worker_threads';
import { analysePrompt, createHashers, type Hashers } from '../assemble/prompt';
import { RECENT_KEPT, type AnalysisReply, type AnalysisRequest } from './prompt-analysis';

/** The fields analysed last, to find a prompt's second copy (ids at most RECENT_KEPT back). */
const recent: { id: number; bytes: Buffer }[] = [];
let hashers: Promise<Hashers> | null = null;
/** Replies go out in id order: each waits for the hashers, in turn. */
let queue: Promise<void> = Promise.resolve();

parentPort!.on('message', (m: AnalysisRequest) => {
  queue = queue.then(async () => {
    hashers ??= createHashers();
    const h = await hashers;
    parentPort!.postMessage(...reply(m, Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength), h));
  });
});

/**
 * A field's bytes go back to the main thread once it is not kept (a second copy at once, a first one
 * when it leaves `recent`): this thread's heap is tiny, so it would collect them seldom and hold
 * hundreds of MB of them meanwhile; the main thread's young generation frees them soon.
 */
function reply({ id, images }: AnalysisRequest, bytes: Buffer, h: Hashers): [AnalysisReply, ArrayBuffer[]] {
  const done: ArrayBuffer[] = [];
  try {
    const same = recent.find((r) => r.id >= id - RECENT_KEPT && r.bytes.equals(bytes));
    if (same) return [{ id, sameAs: same.id, done: [bytes.buffer as ArrayBuffer] }, [bytes.buffer as ArrayBuffer]];
    const p = analysePrompt(bytes, h);
    recent.push({ id, bytes });
    if (recent.length > RECENT_KEPT) done.push(recent.shift()!.bytes.buffer as ArrayBuffer);
    if (p.kind === 'text') return [{ id, prompt: p, done }, done];
    // the decoded image is a view of a scratch buffer the next analysis overwrites: sent as a copy, when wanted
    const image = images ? new Uint8Array(p.bytes) : new Uint8Array(0);
    return [{ id, prompt: { ...p, bytes: image as Buffer }, done }, [...done, ...(images ? [image.buffer] : [])]];
  } catch (err) {
    return [{ id, error: (err as Error).message }, []];
  }
}
