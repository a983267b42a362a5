/**
 * The collector's own log: pino, one line per entry. `human` (the default) is
 * `2026-12-05 01:02:03.456 INFO  <msg> key=value ...` (src/common/human-log.ts), coloured only on a
 * terminal; `json` is pino's JSON lines unchanged, for log shippers (`DC_LOG_FORMAT=json`).
 * Split (what `run` uses under PM2): trace/debug/info on stdout, warn/error/fatal on stderr, so PM2's
 * error log holds only what needs a look. Otherwise everything goes to one fd, stderr by default:
 * stdout carries the other commands' output. Writes are synchronous, so a crash loses no line.
 * Line text from the miner's logs is never logged, only files and offsets, so no wallet detail can
 * leak here.
 */
import tty from 'node:tty';
import pino from 'pino';
import { humanLine } from './human-log';
import type { Logger } from './logger';

export const LOG_FORMATS = ['human', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogOptions {
  /** pino level name; default $DC_LOG_LEVEL, else info. */
  level?: string;
  /** Default $DC_LOG_FORMAT (json, else human). */
  format?: LogFormat;
  /** Info and below to `outFd`, warn and above to `errFd`; default false: everything to `fd`. */
  split?: boolean;
  /** The one destination when not split (default 2: stdout carries command output). */
  fd?: number;
  /** Split: where trace/debug/info go (default 1). */
  outFd?: number;
  /** Split: where warn/error/fatal go (default 2). */
  errFd?: number;
  /** Human format: ANSI colours; default: when the destination is a terminal and $NO_COLOR is unset. */
  colour?: boolean;
}

/** The format named by a flag or $DC_LOG_FORMAT; null when it names none. */
export function parseLogFormat(text: string): LogFormat | null {
  return (LOG_FORMATS as readonly string[]).includes(text) ? (text as LogFormat) : null;
}

export function createLogger(opts: LogOptions = {}): Logger & pino.Logger {
  const level = opts.level ?? process.env.DC_LOG_LEVEL ?? 'info';
  const format = opts.format ?? (process.env.DC_LOG_FORMAT === 'json' ? 'json' : 'human');
  const to = (fd: number): pino.DestinationStream => {
    const dest = pino.destination({ fd, sync: true });
    if (format === 'json') return dest;
    const colour = opts.colour ?? (tty.isatty(fd) && !process.env.NO_COLOR);
    return { write: (chunk: string) => dest.write(humanOf(chunk, colour)) };
  };
  const stream = opts.split
    ? pino.multistream(
        [
          { level: 'trace', stream: to(opts.outFd ?? 1) },
          { level: 'warn', stream: to(opts.errFd ?? 2) },
        ],
        { dedupe: true }, // an entry goes to the stream of the highest level it reaches, only
      )
    : to(opts.fd ?? 2);
  return pino({ level, base: undefined }, stream);
}

function humanOf(chunk: string, colour: boolean): string {
  try {
    return humanLine(JSON.parse(chunk) as Record<string, unknown>, colour);
  } catch {
    return chunk.endsWith('\n') ? chunk : `${chunk}\n`; // never expected: pino writes JSON lines
  }
}
