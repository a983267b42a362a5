/** `data-collector storage`: what the data dir holds by kind, how fast it grows, when the disk is full. */
import { measureStorage, type StorageReport } from '../sinks/space';
import type { Config } from '../config';
import { parseFlags, UsageError, type Command } from './command';
import { configFromFlags, existingDataDir } from './flags';
import { formatBytes, guardLine, jsonDocument, snakeKeys } from './format';

const HELP = `Usage: data-collector storage [--config FILE] [--data-dir DIR] [--days N] [--json]

Bytes used by kind (JSONL files, images, PLY files, gzip archives, the collector's state), growth per
day over the last N days (default 7: JSONL by record time, images and PLYs by file time), free space,
and days until the disk is full at that rate. Also says whether the free-space guard (minFreeBytes)
is holding back images and PLYs. See docs/storage.md.

Exit status: 0 ok (whether or not the guard holds blobs back), 1 the data dir does not exist or
cannot be read, 2 usage error.
`;

export function formatReport(r: StorageReport, config: Config): string {
  const b = r.bytes;
  const rows: [string, number][] = [
    ['JSONL', b.jsonl],
    ['images', b.images],
    ['PLY files', b.ply],
    ['archives', b.archives],
    ['state', b.state],
    ['other', b.other],
    ['total', b.total],
  ];
  const p = r.perDay;
  return [
    `data dir ${r.dataDir}`,
    ...rows.map(([k, v]) => `  ${k.padEnd(10)} ${formatBytes(v).padStart(10)}`),
    `growth over the last ${r.windowDays} days: ${formatBytes(p.total)}/day (JSONL ${formatBytes(p.jsonl)}, images ${formatBytes(p.images)}, PLY ${formatBytes(p.ply)})`,
    `free ${r.freeBytes === null ? 'unknown' : formatBytes(r.freeBytes)}${r.daysUntilFull === null ? '' : `: about ${Math.floor(r.daysUntilFull)} days until full at that rate`}`,
    guardLine(r, config).text,
    '',
  ].join('\n');
}

export const storageCommand: Command = {
  help: HELP,
  async run(args) {
    const { values } = parseFlags('storage', args, {
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      days: { type: 'string' },
      json: { type: 'boolean' },
    });
    const days = values.days === undefined ? 7 : Number(values.days);
    if (!(days > 0)) throw new UsageError('storage: --days takes a positive number');
    const config = configFromFlags(values);
    const r = await measureStorage(existingDataDir('storage', config.dataDir), Date.now(), days);
    if (values.json) process.stdout.write(jsonDocument(snakeKeys({ ...r, minFreeBytes: config.minFreeBytes, storingBlobs: guardLine(r, config).ok }) as object, 1));
    else process.stdout.write(formatReport(r, config));
    return 0;
  },
};
