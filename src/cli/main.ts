#!/usr/bin/env node
/** The `data-collector` command: dispatches to one module per subcommand. */
import './streaming-flags'; // first: before the other modules load
import { COMMANDS } from './commands';
import { UsageError, type Command } from './command';
import { CollectorError } from '../common/errors';
import { VERSION } from '../version';

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = [
    `data-collector ${VERSION}: records every generation of a 404-GEN miner from its PM2 logs`,
    '',
    'Usage: data-collector <command> [flags]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Flags:',
    '  --help, -h     show help (also after a command)',
    '  --version, -V  print the version',
    '',
  ];
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(helpText());
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === first);
  if (!entry) {
    const what = first.startsWith('-') ? 'flag' : 'command';
    throw new UsageError(`unknown ${what} '${first}' (see data-collector --help)`);
  }
  const command: Command = entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help);
    return 0;
  }
  return command.run(rest);
}

if (require.main === module) {
  // Past a file size limit (ulimit -f) a write must fail with EFBIG, which the store handles,
  // instead of the default SIGXFSZ action killing the collector.
  process.on('SIGXFSZ', () => {});
  // the reader went away (`data-collector analyze --summary | head -1`): it has what it wanted; stop quietly
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError || (err instanceof CollectorError && err.code === 'USAGE')) {
        process.stderr.write(`data-collector: ${err.message}\n`);
        process.exitCode = 2;
      } else if (err instanceof CollectorError) {
        process.stderr.write(`data-collector: ${err.describe()}\n`);
        process.exitCode = 1;
      } else {
        process.stderr.write(`data-collector: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
