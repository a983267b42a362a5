/** `data-collector run`: the daemon in the foreground (what PM2 starts from ecosystem.config.js). */
import { configuredStreams, explicitStreams } from '../pipeline/inputs';
import { Daemon } from '../pipeline/daemon';
import { createLogger, parseLogFormat } from '../common/log';
import type { LogEvent } from '../parse';
import { checkPm2Apps, describePm2Apps } from '../config';
import { parseFlags, UsageError, type Command } from './command';
import { configFromFlags } from './flags';
import { INPUT_FLAGS, pipelineInputs } from './input-flags';

const RUN_FLAGS = { ...INPUT_FLAGS, 'log-format': { type: 'string' } } as const;

const HELP = `Usage: data-collector run [--miner-log PATH...] [--worker-log [NAME=]PATH...] [--output-dir [NAME=]DIR...] [--miner-app NAME]
                          [--rules FILE] [--config FILE] [--data-dir DIR] [--time-zone ZONE] [--log-format human|json]

Follows the miner's and workers' PM2 log files and writes one record per generation, until
SIGINT/SIGTERM (a graceful stop: what is finished is written, checkpoints committed, the lock
released). Without --miner-log/--worker-log the files come from the config, else from the running
PM2 daemon ($PM2_HOME), else from PM2's naming convention ($PM2_HOME/logs/<app>-out.log).
One collector per data dir: a second one refuses to start and names the holder.

Its own log (what \`pm2 logs data-collector\` shows) is one line per entry: information on stdout,
warnings and errors on stderr (PM2's error log), e.g.
  2026-12-05 01:02:03.456 INFO  record 9605ef60 TEXT-TO-3D validator 57 score 0.93 accepted 21.4s
  2026-12-05 01:03:00.012 INFO  status 12 records/h, acceptance 58% (7 of 12) last hour, 3 open, lag 0s, miner's last line 4s ago
$DC_LOG_LEVEL sets the level (default info).

Flags: as for ingest (see data-collector ingest --help), and
  --log-format human|json  human: the lines above (default; $DC_LOG_FORMAT=json also selects json);
                           json: pino's JSON lines, the same split, for log shippers

Exit status: 0 stopped by SIGINT/SIGTERM (what was finished is written), 1 it cannot start (another
collector holds the data dir, the config or a log file cannot be read) or a fatal error (one line on
stderr), 2 usage error (an unknown flag, a bad --time-zone or --log-format).
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
  help: HELP,
  async run(args) {
    const { values } = parseFlags('run', args, RUN_FLAGS);
    const flag = values['log-format'];
    const format = flag === undefined ? undefined : parseLogFormat(flag);
    if (format === null) throw new UsageError(`run: --log-format must be human or json, not ${JSON.stringify(flag)}`);
    const config = configFromFlags(values);
    const logger = createLogger({ format, split: true });
    const explicit = (values['miner-log']?.length ?? 0) + (values['worker-log']?.length ?? 0) > 0;
    const streams = explicit
      ? explicitStreams(values['miner-log'] ?? [], values['worker-log'] ?? [], values['miner-app'] ?? null)
      : await configuredStreams(config, logger, { pm2ProblemsSaidElsewhere: true }); // the daemon's health check says them, then hourly
    const daemon = new Daemon({
      ...pipelineInputs(values, config, streams, logger),
      statusEveryMs: Number(process.env.DC_STATUS_EVERY_MS ?? 60000),
      beforeEvent: injectedFault(process.env.DC_TEST_FAULT_EVENT),
      logFormat: format ?? (process.env.DC_LOG_FORMAT === 'json' ? 'json' : 'human'),
      // files named on the command line are not PM2's business
      checkApps: explicit ? undefined : async () => describePm2Apps(await checkPm2Apps(config)),
      healthEveryMs: Number(process.env.DC_HEALTH_EVERY_MS ?? 30000),
      minerSilentMs: Number(process.env.DC_MINER_SILENT_MS ?? 5 * 60000),
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
