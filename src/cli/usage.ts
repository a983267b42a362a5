import { parseArgs, type ParseArgsConfig } from 'node:util';
import { COMMANDS } from './commands';

export { VERSION } from '../version';
import { VERSION } from '../version';

/** A mistake in how the command was called: exit code 2 and a one-line reason. */
export class UsageError extends Error {
  override name = 'UsageError';
}

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

/** node:util parseArgs in strict mode, with its errors turned into one-line usage errors. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    const message = (err as Error).message.split('\n')[0] ?? 'invalid arguments';
    throw new UsageError(`${command}: ${message}`);
  }
}
