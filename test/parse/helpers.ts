/** Line builders, PM2 simulators and a collecting parser for the parse tests. */
import { StreamParser, compileRules, DEFAULT_RULES, type LogEvent, type StreamSpec } from '../../src/parse';
import type { CompiledRule } from '../../src/parse/rules';
import type { Line } from '../../src/sources';

/** The identity the parse tests' lines carry: one file that never rotates. */
export const TEST_FILE_IDENTITY = { dev: 1, ino: 1, fingerprint: '', fingerprintBytes: 0 };

/** A line of `spec`'s file at the given span, as a source hands it on. */
export function lineAt(spec: StreamSpec, bytes: Buffer, offset: number, end: number): Line {
  return { bytes, offset, end, source: { app: spec.app, stream: spec.stream, path: spec.file, identity: TEST_FILE_IDENTITY } };
}

export type Level = 'TRACE' | 'DEBUG' | 'INFO' | 'SUCCESS' | 'WARNING' | 'ERROR' | 'CRITICAL';

/** Python's str.center (the odd space goes right unless margin and width are both odd). */
export function pyCenter(s: string, width: number): string {
  const marg = width - s.length;
  if (marg <= 0) return s;
  const left = Math.floor(marg / 2) + (marg & width & 1);
  return ' '.repeat(left) + s + ' '.repeat(marg - left);
}

export interface BtOpts {
  time?: string;
  level?: Level;
  ansi?: boolean;
  trace?: boolean;
  width?: 16 | 8;
}

/** A bittensor line as the miner writes it (default: 16-wide level, trace field, no colour). */
export function bt(message: string, o: BtOpts = {}): string {
  const time = o.time ?? '2025-11-12 21:30:45.123';
  const level = o.level ?? 'DEBUG';
  const lvl = pyCenter(level, o.width ?? 16);
  const head = o.ansi
    ? `\x1b[34m${time}\x1b[39m | \x1b[1m\x1b[34m${lvl}\x1b[0m | `
    : `${time} | ${lvl} | `;
  return head + (o.trace === false ? '' : 'bittensor:workers.py:87 | ') + message;
}

/** A loguru line (default format; `zone` as newer loguru writes it after the time). */
export function loguru(message: string, o: { time?: string; level?: Level; where?: string; zone?: string } = {}): string {
  const time = (o.time ?? '2025-11-12 21:30:45.201') + (o.zone ?? '');
  return `${time} | ${(o.level ?? 'INFO').padEnd(8)} | ${o.where ?? '__main__:generate:52'} - ${message}`;
}

export const MINER: StreamSpec = { app: 'miner-sn17-mainnet', role: 'miner', group: 'miner', stream: 'out', file: '/logs/miner-sn17-mainnet-out.log' };
export const WORKER: StreamSpec = { app: 'gen-worker-1', role: 'worker', group: 'gen-worker-1', stream: 'error', file: '/logs/gen-worker-1-error.log' };

export const DEFAULTS = compileRules(DEFAULT_RULES);

export interface Run {
  events: LogEvent[];
  parser: StreamParser;
}

/** Splits a file's bytes into lines (without `\n`) with their offsets, as a follower would. */
export function fileLines(bytes: Buffer): { line: Buffer; offset: number; end: number }[] {
  const out: { line: Buffer; offset: number; end: number }[] = [];
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(10, start);
    if (nl === -1) break;
    out.push({ line: bytes.subarray(start, nl), offset: start, end: nl + 1 });
    start = nl + 1;
  }
  return out;
}

/** Parses a whole file's bytes (each line must end with `\n`). */
export function parseBytes(bytes: Buffer, spec: StreamSpec = MINER, rules: CompiledRule[] = DEFAULTS, timeZone = 'UTC'): Run {
  const events: LogEvent[] = [];
  const parser = new StreamParser(spec, { rules, timeZone }, (e) => events.push(e));
  for (const { line, offset, end } of fileLines(bytes)) parser.push(lineAt(spec, line, offset, end));
  parser.flush();
  return { events, parser };
}

/** Parses plain-mode lines. */
export function parseLines(lines: string[], spec: StreamSpec = MINER, rules: CompiledRule[] = DEFAULTS, timeZone = 'UTC'): Run {
  return parseBytes(Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8'), spec, rules, timeZone);
}

/** The one event of a one-line parse. */
export function one(line: string, spec: StreamSpec = MINER, rules: CompiledRule[] = DEFAULTS): LogEvent {
  const { events } = parseLines([line], spec, rules);
  if (events.length !== 1) throw new Error(`expected one event for ${JSON.stringify(line.slice(0, 200))}, got ${events.length}`);
  return events[0]!;
}

export const PM2_DATE = '2025-11-12 21:30:45 +00:00';

/**
 * PM2 7's `prefixLogWithDate` (lib/God/ForkMode.js) applied to a byte stream read in the given chunk
 * sizes: each chunk is split on `\n`, the piece after the last `\n` is dropped when there is more
 * than one piece, and every piece is written as `<date>: <piece>\n`. Works on bytes (a chunk of
 * pure ASCII/base64 text decodes to the same bytes). `dropped` receives the stream ranges PM2 lost.
 */
export function pm2DateMode(stream: Buffer, chunkSizes: number[], date = PM2_DATE, dropped: [number, number][] = []): Buffer {
  const out: Buffer[] = [];
  const prefix = Buffer.from(`${date}: `);
  const nl = Buffer.from('\n');
  let pos = 0;
  let i = 0;
  while (pos < stream.length) {
    const size = Math.max(1, chunkSizes[i++ % chunkSizes.length]!);
    const chunk = stream.subarray(pos, Math.min(stream.length, pos + size));
    pos += chunk.length;
    const pieces: Buffer[] = [];
    let s = 0;
    for (;;) {
      const j = chunk.indexOf(10, s);
      if (j === -1) break;
      pieces.push(chunk.subarray(s, j));
      s = j + 1;
    }
    pieces.push(chunk.subarray(s));
    if (pieces.length > 1 && pieces.pop()!.length) dropped.push([pos - chunk.length + s, pos]);
    for (const p of pieces) out.push(prefix, p, nl);
  }
  return Buffer.concat(out);
}

/** PM2 7's `transformLogToJson`: one JSON object per chunk, `message` = the chunk's text. */
export function pm2JsonMode(stream: Buffer, chunkSizes: number[], app = 'miner-sn17-mainnet'): Buffer {
  const out: string[] = [];
  let pos = 0;
  let i = 0;
  while (pos < stream.length) {
    const size = Math.max(1, chunkSizes[i++ % chunkSizes.length]!);
    const chunk = stream.subarray(pos, Math.min(stream.length, pos + size));
    pos += chunk.length;
    out.push(
      JSON.stringify({ message: chunk.toString(), timestamp: '2025-11-12T21:30:45.500Z', type: 'out', process_id: 0, app_name: app }) + '\n',
    );
  }
  return Buffer.from(out.join(''), 'utf8');
}

/** A deterministic pseudo-base64 image prompt of `n` characters (PNG-like start, `=` padding). */
export function base64Prompt(n: number, seed = 1): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let s = seed >>> 0;
  const chars: string[] = ['iVBORw0KGgo'];
  let len = chars[0]!.length;
  while (len < n - 2) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    chars.push(abc[s >>> 26]!);
    len++;
  }
  return (chars.join('') + '==').slice(0, n);
}
