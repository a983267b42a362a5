/** Records across months for the storage tests, and a reader of everything a data dir holds. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { emptyMinerEvent, emptyRecord, type GenerationRecord, type MinerEvent, type Outcome } from '../../../src/schema';

export const uuid = (n: number): string => `00000000-0000-5000-8000-${n.toString(16).padStart(12, '0')}`;
const OUTCOMES: Outcome[] = ['accepted', 'rejected', 'generation_failed', 'no_feedback'];

export function tmpDir(prefix = 'dc-storage-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Generation `n` at `iso`, with an outcome and score that vary with n (so totals mean something). */
export function gen(n: number, iso: string, revision = 0): GenerationRecord {
  const r = emptyRecord({ generation_id: uuid(n), timestamp: iso, host: 'box', miner_app: 'miner-sn17-mainnet', collector_version: '0.1.0', outcome: OUTCOMES[n % 4]! });
  r.task.task_type = n % 3 === 0 ? 'TEXT-TO-3D' : 'IMAGE-TO-3D';
  r.provenance.revision = revision;
  r.validator_feedback.received = r.outcome !== 'no_feedback';
  r.validator_feedback.score = r.outcome === 'accepted' ? 0.5 + (n % 5) / 10 : r.validator_feedback.received ? 0 : null;
  r.validator_feedback.accepted = r.validator_feedback.score === null ? null : r.validator_feedback.score > 0;
  r.metadata.validator_uid = 40 + (n % 3);
  r.generation.timing.total_time = 10 + (n % 7);
  return r;
}

export function event(n: number, iso: string): MinerEvent {
  const e = emptyMinerEvent({ time: iso, event: 'pull_failed', host: 'box', miner_app: 'miner-sn17-mainnet', source: { file: '/logs/miner-out.log', offset: n }, collector_version: '0.1.0' });
  e.reason = `timeout ${n}`;
  return e;
}

/** `count` records per month for `months` ('2025-04', ...), ids numbered from `first`, days 1..28. */
export function monthsOfRecords(months: string[], count: number, first = 1): GenerationRecord[] {
  const out: GenerationRecord[] = [];
  let n = first;
  for (const m of months)
    for (let i = 0; i < count; i++) out.push(gen(n++, `${m}-${String(1 + ((i * 27) / Math.max(1, count - 1)) | 0).padStart(2, '0')}T12:00:00.000Z`));
  return out;
}

/** Every data file of a data dir (relative name -> its lines, decompressed); tmp/corrupt/state files apart. */
export function readDataDir(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const sub of ['', 'archive']) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(path.join(dir, sub)).sort();
    } catch {
      /* none */
    }
    for (const n of names) {
      const file = path.join(dir, sub, n);
      if (!fs.statSync(file).isFile() || !/\.jsonl(\.gz)?$/.test(n)) continue;
      const raw = fs.readFileSync(file);
      const text = (n.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
      if (text.length && !text.endsWith('\n')) throw new Error(`${file} ends in a partial line`);
      out.set(path.join(sub, n), text ? text.slice(0, -1).split('\n') : []);
    }
  }
  return out;
}

/** All lines of all files, sorted: equal multisets mean nothing lost and nothing twice. */
export function allLines(dir: string): string[] {
  return [...readDataDir(dir).values()].flat().sort();
}

/** Every file under dir (relative), sorted, for layout comparisons. */
export function listTree(dir: string, skip = new Set(['state'])): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const rel = path.relative(dir, path.join(d, e.name));
      if (skip.has(rel)) continue;
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(rel);
    }
  };
  walk(dir);
  return out.sort();
}
