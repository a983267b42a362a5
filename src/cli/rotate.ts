/** `data-collector rotate`: seal, gzip and archive the monthly JSONL files; optionally prune old blobs. */
import * as path from 'node:path';
import { runRotation } from '../sinks/rotation';
import { planPrune, runPrune } from '../sinks/space';
import { parseFlags, UsageError, type Command } from './command';
import { configFromFlags, existingDataDir } from './flags';
import { formatBytes, jsonDocument } from './format';

const HELP = `Usage: data-collector rotate [--config FILE] [--data-dir DIR] [--dry-run] [--gzip-after MONTHS]
                             [--archive-after MONTHS] [--prune-older-than MONTHS [--yes]] [--json]

For generation_history, miner_events and miner_config_history:
  - seals the live <name>.jsonl as <name>_YYYY-MM.jsonl when its month is over (the daemon does this
    by itself at the first record of a new month);
  - gzips monthly files older than --gzip-after months (default: config rotation.gzipAfterMonths, 3),
    verifying the archive before the original is removed;
  - moves monthly files older than --archive-after months (default: rotation.archiveAfterMonths, 6) to archive/.
Safe while the daemon runs (each step holds the append lock) and after a kill (run it again).

--prune-older-than MONTHS lists files in archive/ and images/PLYs older than MONTHS that no newer record
names; they are deleted only with --yes. With retention.pruneAfterMonths in the config, rotate deletes
those without a flag. --dry-run prints the plan and changes nothing. See docs/storage.md.

Exit status: 0 ok (also when there is nothing to rotate; the message names the data dir), 1 the data
dir does not exist or a file cannot be sealed, gzipped, moved or deleted, 2 usage error.
`;

function months(flag: string, v: string | undefined, dflt: number | null): number | null {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`rotate: --${flag} takes a whole number of months`);
  return n;
}

export const rotateCommand: Command = {
  help: HELP,
  async run(args) {
    const { values } = parseFlags('rotate', args, {
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      'dry-run': { type: 'boolean' },
      'gzip-after': { type: 'string' },
      'archive-after': { type: 'string' },
      'prune-older-than': { type: 'string' },
      yes: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const config = configFromFlags(values);
    existingDataDir('rotate', config.dataDir);
    const dryRun = values['dry-run'] ?? false;
    const now = Date.now();
    const steps = await runRotation({
      dataDir: config.dataDir,
      nowMs: now,
      gzipAfterMonths: months('gzip-after', values['gzip-after'], config.rotation.gzipAfterMonths)!,
      archiveAfterMonths: months('archive-after', values['archive-after'], config.rotation.archiveAfterMonths)!,
      dryRun,
    });
    const flagPrune = months('prune-older-than', values['prune-older-than'], null);
    const pruneMonths = flagPrune ?? config.retention.pruneAfterMonths;
    if (pruneMonths === 0) throw new UsageError('rotate: --prune-older-than takes at least 1 month');
    const prune = pruneMonths === null ? [] : await planPrune(config.dataDir, now, pruneMonths);
    // the flag lists, --yes deletes; a pruneAfterMonths in the config is the operator's standing consent
    const deleting = !dryRun && prune.length > 0 && (values.yes === true || flagPrune === null);
    if (deleting) runPrune(config.dataDir, prune);

    const rel = (f: string) => path.relative(config.dataDir, f) || f;
    if (values.json) {
      process.stdout.write(jsonDocument({ data_dir: config.dataDir, dry_run: dryRun, steps, prune: { months: pruneMonths, deleted: deleting, files: prune } }, 1));
      return 0;
    }
    const verb = dryRun ? 'would ' : '';
    for (const s of steps) process.stdout.write(`${verb}${s.action.padEnd(7)} ${rel(s.file)} -> ${rel(s.target)}\n`);
    if (steps.length === 0) process.stdout.write(`nothing to rotate in ${config.dataDir}\n`);
    if (pruneMonths !== null) {
      const bytes = prune.reduce((n, p) => n + p.bytes, 0);
      for (const p of prune) process.stdout.write(`${deleting ? 'deleted' : 'would delete'} ${p.kind.padEnd(7)} ${rel(p.file)} (${formatBytes(p.bytes)})\n`);
      process.stdout.write(
        `${prune.length} file(s), ${formatBytes(bytes)} older than ${pruneMonths} months${deleting || prune.length === 0 ? '' : ': run again with --yes to delete them'}\n`,
      );
    }
    return 0;
  },
};
