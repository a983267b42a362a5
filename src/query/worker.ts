/**
 * Worker thread: scans the units the main thread sends, one at a time, and sends back their rows a
 * chunk at a time (`chunk`), then the unit's counts (`result`). Each chunk's buffer is asked of the main
 * thread (`need`), so it is allocated there (see ChunkBuilder).
 */
import { parentPort } from 'node:worker_threads';
import { ChunkBuilder, transferables } from './columns';
import type { ScanUnit } from './files';
import { scanUnit, type ChunkSink } from './unit-scan';

const builder = new ChunkBuilder();
let granted: ((buffer: ArrayBuffer) => void) | null = null;

parentPort?.on('message', (msg: { id: number; unit: ScanUnit; rows?: number } | { id: number; buffer: ArrayBuffer }) => {
  if ('buffer' in msg) return granted?.(msg.buffer);
  const { id, unit, rows } = msg;
  const sink: ChunkSink = {
    builder,
    rows,
    alloc: (bytes) =>
      new Promise((resolve) => {
        granted = resolve;
        parentPort!.postMessage({ id, need: bytes });
      }),
    put: (chunk) => parentPort!.postMessage({ id, chunk }, transferables(chunk)),
  };
  scanUnit(unit, sink).then(
    (result) => parentPort!.postMessage({ id, result }),
    (err: unknown) => parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) }),
  );
});
