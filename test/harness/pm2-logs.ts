/**
 * Small readers for the files PM2 wrote, for the harness's own tests (independent of the collector's
 * parsers on purpose: the harness must not share their mistakes).
 */
import * as fs from 'node:fs';
import type { Pm2Mode } from './pm2-harness';

export interface Pm2Piece {
  /** The process's text, PM2's date prefix or JSON envelope removed. */
  text: string;
  /** PM2's time for it (date prefix or JSON timestamp), null in plain mode. */
  pm2Time: string | null;
}

const DATE_PREFIX = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?: [+-]\d{2}:\d{2})?): /;

/** The file's lines with PM2's decoration removed (date mode: one piece per file line, as PM2 cut it). */
export function pm2Pieces(file: string, mode: Pm2Mode): Pm2Piece[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (mode === 'plain') return lines.map((text) => ({ text, pm2Time: null }));
  if (mode === 'date')
    return lines.map((l) => {
      const m = DATE_PREFIX.exec(l);
      if (!m) throw new Error(`line without PM2 date prefix: ${l.slice(0, 80)}`);
      return { text: l.slice(m[0].length), pm2Time: m[1]! };
    });
  return lines.map((l) => {
    const o = JSON.parse(l) as { message: string; timestamp: string };
    return { text: o.message, pm2Time: o.timestamp };
  });
}

/**
 * The process's own lines. Lossless for plain and json (JSON messages are chunks: join, then split);
 * in date mode PM2 has already split long lines and dropped some starts, so these are its pieces.
 */
export function processLines(file: string, mode: Pm2Mode): string[] {
  if (mode !== 'json') return pm2Pieces(file, mode).map((p) => p.text);
  const all = pm2Pieces(file, mode)
    .map((p) => p.text)
    .join('');
  const lines = all.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// eslint-disable-next-line no-control-regex -- ESC is what we look for
export const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

export interface BtLine {
  time: string;
  level: string;
  message: string;
}

const BT = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}) \| +([A-Z]+) +\| (?:bittensor:[\w.]+:\d+ \| )?/;

/** A bittensor line's parts, or null for a continuation line (traceback, piece of a long line). */
export function parseBt(line: string): BtLine | null {
  // colour codes sit in the first ~60 characters only; never scan a 500 KB prompt
  const raw = line.slice(0, 120);
  const head = stripAnsi(raw);
  const m = BT.exec(head);
  if (!m) return null;
  const cut = raw.length - head.length; // colour codes only come before the message
  return { time: m[1]!, level: m[2]!, message: line.slice(m[0].length + cut) };
}
