/** `data-collector ingest`: read log files as they are now, write their records, exit. */
import * as fs from 'node:fs';
import { explicitStreams } from '../pipeline/inputs';
import { runIngest, type IngestSummary } from '../pipeline/ingest';
import { createLogger } from '../common/log';
import { parseFlags, UsageError, type Command } from './command';
import { configFromFlags } from './flags';
import { expandPathArgs, INPUT_FLAGS, pipelineInputs } from './input-flags';

const HELP = `Usage: data-collector ingest --miner-log PATH... [--worker-log [NAME=]PATH...] [--output-dir [NAME=]DIR...] [--miner-app NAME]
                             [--rules FILE] [--config FILE] [--data-dir DIR] [--time-zone ZONE] [--explain-unmatched N] [--progress]

Reads the given PM2 log files (plain, rotated or .gz) from their start to their current end, writes
one record per generation to DIR/generation_history.jsonl (and miner events to miner_events.jsonl),
prints a one-line summary and exits 0. Safe while the daemon runs; running it twice over the same
files writes nothing new. Tasks still open at the end of the input are written as they stand
(outcome "interrupted", incomplete); a later run that sees their end writes a better revision.

Flags:
  --miner-log PATH...      the miner's out or error logs: several paths, and globs in the file name
                           (--miner-log 'logs/miner-out*.log*' takes the rotated and .gz copies too; any
                           order: they are merged by time, and what two copies share is written once)
  --worker-log [NAME=]PATH...  a worker's logs, the same way; NAME groups a worker's files (default: its PM2 app)
  --explain-unmatched N    after the summary, list N log entries no rule took, with file:offset
  --progress               a progress line on stderr (MiB read, MiB/s, share and time to go, records),
                           also when stderr is not a terminal (on a terminal it is always shown)
  --output-dir [NAME=]DIR  the PLY directory of worker group NAME (repeatable; default: the config's
                           workers[].outputDir): its files are linked to the generations by time
  --miner-app NAME         the miner's PM2 app name (default: from the file name <app>-out.log)
  --rules FILE             a rules file (JSON) adding to or replacing the default rules
  --config FILE            the collector's config (JSON; default $DC_CONFIG, else ./data-collector.config.json if present)
  --data-dir DIR           where the data goes (default: the config's, else ./data)
  --time-zone ZONE         IANA zone of the miner's log times (default: the host's)

Exit status: 0 ok (also when nothing new was written), 1 a file or the config cannot be read (one
line naming it and the fix), 2 usage error (no --miner-log, a file given that does not exist, a bad
--time-zone).
`;

const n = (x: number): string => x.toLocaleString('en-US');

/** One progress line: how much is read, how fast, how long to go (when the sizes are known), records so far. */
export function progressLine(p: { bytes: number; records: number }, totalBytes: number, anyGz: boolean, seconds: number): string {
  const mib = p.bytes / 1048576;
  const rate = seconds > 0 ? mib / seconds : 0;
  const share = !anyGz && totalBytes > 0 ? Math.min(1, p.bytes / totalBytes) : null;
  const eta = share !== null && rate > 0 ? Math.max(0, (totalBytes - p.bytes) / 1048576 / rate) : null;
  return (
    `ingest: ${mib.toFixed(1)}${share !== null ? ` of ${(totalBytes / 1048576).toFixed(1)}` : ''} MiB` +
    `${share !== null ? ` (${Math.round(share * 100)}%)` : ''}, ${rate.toFixed(0)} MiB/s` +
    `${eta !== null ? `, ${Math.ceil(eta)} s to go` : ''}, ${n(p.records)} records `
  );
}

/** The summary as an operator reads it: what was read, what was written, what was left and why. */
export function summaryInWords(s: IngestSummary, seconds: number): string {
  const parts = [
    `ingest: read ${n(s.files)} files (${(s.bytes / 1048576).toFixed(1)} MiB, ${n(s.lines)} lines) in ${seconds.toFixed(1)} s`,
    `${n(s.records)} records written, ${n(s.duplicates)} already stored${s.invalid ? `, ${n(s.invalid)} refused by the schema (a bug: report it)` : ''}`,
    `${n(s.minerEvents)} miner events`,
    `${n(s.unmatched)} log entries about no task (no rule took them: normal; --explain-unmatched N lists some)`,
  ];
  if (s.damaged) parts.push(`${n(s.damaged)} lines PM2 cut (long lines: see README, Troubleshooting)`);
  if (s.skipped) parts.push(`${n(s.skipped)} lines skipped as longer than maxLineBytes`);
  if (s.quarantined) parts.push(`${n(s.quarantined)} lines quarantined (their handling threw: logged with their positions; report it)`);
  if (s.outputFiles || s.outputFilesWithoutTask) parts.push(`${n(s.outputFiles)} output files linked (${n(s.outputFilesWithoutTask)} with no generation)`);
  return parts.join('; ');
}

export const ingestCommand: Command = {
  help: HELP,
  async run(args) {
    const { values } = parseFlags('ingest', expandPathArgs(args), { ...INPUT_FLAGS, 'explain-unmatched': { type: 'string' }, progress: { type: 'boolean' } });
    const explain = values['explain-unmatched'] === undefined ? 0 : Number(values['explain-unmatched']);
    if (!Number.isInteger(explain) || explain < 0) throw new UsageError(`ingest: --explain-unmatched takes a count, not ${JSON.stringify(values['explain-unmatched'])}`);
    const minerLogs = values['miner-log'] ?? [];
    if (minerLogs.length === 0) throw new UsageError('ingest: give at least one --miner-log PATH');
    for (const f of [...minerLogs, ...(values['worker-log'] ?? []).map((w) => w.slice(w.indexOf('=') + 1))])
      if (!fs.existsSync(f)) throw new UsageError(`ingest: no such file: ${f}`);
    const config = configFromFlags(values);
    const streams = explicitStreams(minerLogs, values['worker-log'] ?? [], values['miner-app'] ?? null);
    const logger = createLogger();
    const t0 = Date.now();
    // progress on a terminal (or asked for): bytes, MB/s, the share of the plain files' bytes and an ETA, records
    const showProgress = values.progress ?? process.stderr.isTTY === true;
    let onProgress: ((p: { bytes: number; records: number }) => void) | undefined;
    if (showProgress) {
      const total = streams.reduce((n, f) => n + (f.file.endsWith('.gz') ? 0 : fs.statSync(f.file).size), 0);
      const anyGz = streams.some((f) => f.file.endsWith('.gz'));
      onProgress = (p) => process.stderr.write(`\r${progressLine(p, total, anyGz, (Date.now() - t0) / 1000)}`);
    }
    const s = await runIngest({ ...pipelineInputs(values, config, streams, logger), explainUnmatched: explain, onProgress });
    if (showProgress) process.stderr.write('\n');
    process.stdout.write(`${summaryInWords(s, (Date.now() - t0) / 1000)}\n`);
    if (explain) process.stdout.write(s.unmatchedAt.length ? `log entries no rule took (file:offset, start of the message):\n${s.unmatchedAt.map((u) => `  ${u}`).join('\n')}\n` : 'every log entry was taken by a rule\n');
    return 0;
  },
};
