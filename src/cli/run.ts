/** `data-collector run`: the daemon in the foreground (what PM2 starts from ecosystem.config.js). */
import { configuredStreams, explicitStreams } from '../pipeline/inputs';
import { Daemon } from '../pipeline/daemon';
import { createLogger } from '../common/log';
import type { LogEvent } from '../parse';
import type { Command } from './commands';
import { configFromFlags, INPUT_FLAGS, pipelineInputs } from './ingest';
import { parseFlags } from './usage';

const HELP = `Usage: data-collector run [--miner-log PATH...] [--worker-log [NAME=]PATH...] [--output-dir [NAME=]DIR...] [--miner-app NAME]
                          [--rules FILE] [--config FILE] [--data-dir DIR] [--time-zone ZONE]

Follows the miner's and workers' PM2 log files and writes one record per generation, until
SIGINT/SIGTERM (a graceful stop: what is finished is written, checkpoints committed, the lock
released). Without --miner-log/--worker-log the files come from the config, else from the running
PM2 daemon ($PM2_HOME), else from PM2's naming convention ($PM2_HOME/logs/<app>-out.log).
One collector per data dir: a second one refuses to start and names the holder.

Flags: as for ingest (see data-collector ingest --help).
`;

/**
 * For the end-to-end tests of the bulkhead only: `DC_TEST_FAULT_EVENT=feedback#3` makes the handling
 * of the 3rd `feedback` event this process sees throw.
 */
function injectedFault(spec: string | undefined): ((e: LogEvent) => void) | undefined {
  const m = spec ? /^(\w+)#(\d+)$/.exec(spec) : null;
  if (!m) return undefined;
  let seen = 0;
  return (e) => {
    if (e.type === m[1] && ++seen === Number(m[2])) throw new Error(`fault injected by DC_TEST_FAULT_EVENT=${spec}`);
  };
}

export const runCommand: Command = {
  name: 'run',
  summary: 'the collector daemon, in the foreground (PM2 runs this)',
  help: HELP,
  async run(args) {
    const { values } = parseFlags('run', args, INPUT_FLAGS);
    const config = configFromFlags(values);
    const logger = createLogger();
    const explicit = (values['miner-log']?.length ?? 0) + (values['worker-log']?.length ?? 0) > 0;
    const streams = explicit
      ? explicitStreams(values['miner-log'] ?? [], values['worker-log'] ?? [], values['miner-app'] ?? null)
      : await configuredStreams(config, logger);
    const daemon = new Daemon({
      ...pipelineInputs(values, config, streams, logger),
      statusEveryMs: Number(process.env.DC_STATUS_EVERY_MS ?? 60000),
      beforeEvent: injectedFault(process.env.DC_TEST_FAULT_EVENT),
    });
    await daemon.start();
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping');
        daemon.stop().then(resolve, (err: Error) => {
          logger.error({ error: err.message }, 'stop failed');
          resolve();
        });
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
    return 0;
  },
};
