/** What every subcommand is, and how it reads its flags: a leaf that every command imports. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A subcommand's module: its help and what it does (its name and summary are in commands.ts). */
export interface Command {
  help: string;
  run(args: string[]): Promise<number>;
}

/** A mistake in how the command was called: exit code 2 and a one-line reason. */
export class UsageError extends Error {
  override name = 'UsageError';
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
