/** The filter flags and data dirs of `analyze` and `export` -> the dataset read and the records selected. */
import { FilterError, filterFromFlags, loadDataset, select, type Dataset, type Filter } from '../query';
import { UsageError } from './command';
import type { CliIo } from './io';

/** Data dirs, filter and the scan with progress: shared by analyze and export. */
export async function loadSelection(
  command: string,
  values: Record<string, unknown>,
  io: CliIo,
): Promise<{ ds: Dataset; sel: Uint8Array; filter: Filter; dataDirs: string[]; now: number }> {
  const now = io.now();
  let filter: Filter;
  try {
    filter = filterFromFlags(values, now);
  } catch (err) {
    if (err instanceof FilterError) throw new UsageError(`${command}: ${err.message}`);
    throw err;
  }
  const given = values['data-dir'] as string[] | undefined;
  // the config only when no --data-dir is given: reading it loads its schema (zod, ~9 MB of RSS)
  const configDir = (): string => (require('./flags') as typeof import('./flags')).configFromFlags({ config: values.config as string | undefined }).dataDir;
  const dataDirs = given?.length ? given : [configDir()];
  let lastShown = 0;
  const ds = await loadDataset({
    dataDirs,
    threads: io.threads,
    onProgress: io.stderrIsTty
      ? (done, total) => {
          const t = Date.now();
          if (t - lastShown < 200 && done < total) return;
          lastShown = t;
          io.stderr(`\rreading ${((done / Math.max(1, total)) * 100).toFixed(0)}% of ${(total / 1048576).toFixed(0)} MiB`);
          if (done >= total) io.stderr('\r\x1b[K');
        }
      : undefined,
  });
  return { ds, sel: select(ds, filter), filter, dataDirs, now };
}

/** No record at all, yet lines that were not: the data is not what analyze reads (exit 1, never a silent 0). */
export function nothingReadable(ds: Dataset): boolean {
  return ds.stats.records === 0 && (ds.stats.corrupt > 0 || ds.stats.notRecord > 0);
}
