/** `data-collector ingest`: read log files as they are now, write their records, exit. */
import * as fs from 'node:fs';
import { defaultConfig, loadConfigFile, type Config } from '../config';
import { explicitStreams, minerAppOf, outputDirsOf } from '../pipeline/inputs';
import { runIngest } from '../pipeline/ingest';
import type { PipelineInputs } from '../pipeline/wiring';
import type { StreamSpec } from '../parse';
import type { Logger } from '../common/logger';
import { createLogger } from '../common/log';
import { CollectorError } from '../common/errors';
import type { Command } from './commands';
import { parseFlags, UsageError } from './usage';

export const INPUT_FLAGS = {
  'miner-log': { type: 'string', multiple: true },
  'worker-log': { type: 'string', multiple: true },
  'output-dir': { type: 'string', multiple: true },
  'miner-app': { type: 'string' },
  rules: { type: 'string' },
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'time-zone': { type: 'string' },
} as const;

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
`;

/** The collector's config when no --config is given (looked for in the working directory). */
export const DEFAULT_CONFIG_FILE = 'data-collector.config.json';

/** The config from --config (or $DC_CONFIG, or ./data-collector.config.json), with the flags that override it. */
export function configFromFlags(values: { config?: string; 'data-dir'?: string; 'time-zone'?: string }): Config {
  const file = values.config ?? process.env.DC_CONFIG ?? (fs.existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : null);
  const config = file ? loadConfigFile(file) : defaultConfig();
  if (values['data-dir']) config.dataDir = values['data-dir'];
  if (values['time-zone']) config.timeZone = values['time-zone'];
  return config;
}

/** The pipeline's inputs from the shared flags, for `run` and `ingest` alike. */
export function pipelineInputs(
  values: { 'output-dir'?: string[]; 'miner-app'?: string; rules?: string },
  config: Config,
  streams: StreamSpec[],
  logger: Logger,
): PipelineInputs {
  return {
    config,
    streams,
    outputDirs: outputDirsOf(config, streams, values['output-dir'] ?? []),
    minerApp: minerAppOf(streams, config, values['miner-app']),
    rulesFile: readRulesFile(values.rules ?? config.rulesFile ?? undefined),
    logger,
  };
}

export function readRulesFile(file: string | undefined): unknown {
  if (!file) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CollectorError('CONFIG_INVALID', `cannot read the rules file: ${(err as Error).message}`, file, 'fix the JSON');
  }
}

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
