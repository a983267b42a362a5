/**
 * The collector's own log: pino, human-readable (pino-pretty) when a person reads it (a terminal,
 * or `pm2 logs`), JSON when asked (`DC_LOG_FORMAT=json`). Line text from the miner's logs is
 * never logged, only files and offsets, so no wallet detail can leak here.
 */
import pino from 'pino';
import type { Logger } from './logger';

export interface LogOptions {
  level?: string;
  format?: 'pretty' | 'json';
  /** File descriptor to write to (2 = stderr by default: stdout carries command output). */
  fd?: number;
}

export function createLogger(opts: LogOptions = {}): Logger & pino.Logger {
  const level = opts.level ?? process.env.DC_LOG_LEVEL ?? 'info';
  const format = opts.format ?? (process.env.DC_LOG_FORMAT === 'json' ? 'json' : 'pretty');
  const fd = opts.fd ?? 2;
  if (format === 'json') return pino({ level, base: undefined }, pino.destination({ fd, sync: true }));
  const pretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
  return pino(
    { level, base: undefined },
    pretty({ destination: fd, sync: true, colorize: process.stderr.isTTY === true, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname' }),
  );
}
