/** `data-collector ingest`: read log files as they are now, write their records, exit. */
import * as fs from 'node:fs';
import { explicitStreams } from '../pipeline/inputs';
import { runIngest } from '../pipeline/ingest';
import { createLogger } from '../common/log';
import { parseFlags, UsageError, type Command } from './command';
import { configFromFlags, INPUT_FLAGS, pipelineInputs } from './flags';

const HELP = `Usage: data-collector ingest --miner-log PATH... [--worker-log [NAME=]PATH...] [--output-dir [NAME=]DIR...] [--miner-app NAME]
                             [--rules FILE] [--config FILE] [--data-dir DIR] [--time-zone ZONE]

Reads the given PM2 log files (plain, rotated or .gz) from their start to their current end, writes
one record per generation to DIR/generation_history.jsonl (and miner events to miner_events.jsonl),
prints a one-line summary and exits 0. Safe while the daemon runs; running it twice over the same
files writes nothing new. Tasks still open at the end of the input are written as they stand
(outcome "interrupted", incomplete); a later run that sees their end writes a better revision.

Flags:
  --miner-log PATH         the miner's out or error log (repeatable)
  --worker-log [NAME=]PATH a worker's log (repeatable); NAME groups a worker's files (default: its PM2 app)
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

export const ingestCommand: Command = {
  name: 'ingest',
  summary: 'read log files once (plain, rotated, .gz) and write their records',
  help: HELP,
  async run(args) {
    const { values } = parseFlags('ingest', args, INPUT_FLAGS);
    const minerLogs = values['miner-log'] ?? [];
    if (minerLogs.length === 0) throw new UsageError('ingest: give at least one --miner-log PATH');
    for (const f of [...minerLogs, ...(values['worker-log'] ?? []).map((w) => w.slice(w.indexOf('=') + 1))])
      if (!fs.existsSync(f)) throw new UsageError(`ingest: no such file: ${f}`);
    const config = configFromFlags(values);
    const streams = explicitStreams(minerLogs, values['worker-log'] ?? [], values['miner-app'] ?? null);
    const logger = createLogger();
    const s = await runIngest(pipelineInputs(values, config, streams, logger));
    process.stdout.write(
      `ingest: ${s.files} files, ${s.lines} lines, ${s.entries} entries, ${s.events} events, ${s.records} records written ` +
        `(${s.duplicates} already stored), ${s.minerEvents} miner events, ${s.unmatched} unmatched, ${s.damaged} damaged, ` +
        `${s.skipped} skipped${s.invalid ? `, ${s.invalid} refused by the schema` : ''}` +
        `${s.outputFiles || s.outputFilesWithoutTask ? `, ${s.outputFiles} output files linked (${s.outputFilesWithoutTask} with no generation)` : ''}\n`,
    );
    return 0;
  },
};
