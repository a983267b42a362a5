/** Where a worker thread's script is, when one can start. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The compiled script `name` in `dir` (the caller's `__dirname`), or null where no worker can start:
 * from TypeScript sources (jest) there is no compiled script to run, and the work stays on the main thread.
 */
export function workerScript(dir: string, name: string): string | null {
  const script = path.join(dir, name);
  return __filename.endsWith('.js') && fs.existsSync(script) ? script : null;
}
