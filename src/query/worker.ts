/** Worker thread: scans the units the main thread sends, one at a time, and sends back their rows. */
import { parentPort } from 'node:worker_threads';
import { transferables } from './columns';
import type { ScanUnit } from './files';
import { scanUnit } from './unit-scan';

parentPort?.on('message', (msg: { id: number; unit: ScanUnit }) => {
  scanUnit(msg.unit).then(
    (result) => parentPort!.postMessage({ id: msg.id, result }, transferables(result.chunk)),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
