/**
 * Worker thread: scans the units the main thread sends, one at a time, and sends back their rows. Each
 * chunk's buffer is asked of the main thread (`need`), so it is allocated there (see ChunkBuilder).
 */
import { parentPort } from 'node:worker_threads';
import { ChunkBuilder, transferables } from './columns';
import type { ScanUnit } from './files';
import { scanUnit } from './unit-scan';

const builder = new ChunkBuilder();
let granted: ((buffer: ArrayBuffer) => void) | null = null;

parentPort?.on('message', (msg: { id: number; unit: ScanUnit } | { id: number; buffer: ArrayBuffer }) => {
  if ('buffer' in msg) return granted?.(msg.buffer);
  const alloc = (bytes: number): Promise<ArrayBuffer> =>
    new Promise((resolve) => {
      granted = resolve;
      parentPort!.postMessage({ id: msg.id, need: bytes });
    });
  scanUnit(msg.unit, builder, alloc).then(
    (result) => parentPort!.postMessage({ id: msg.id, result }, transferables(result.chunk)),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
