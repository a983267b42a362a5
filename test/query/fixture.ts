/**
 * A fixed fleet of two data dirs, written from a small table of hand-made records. Every expected
 * number in the tests is worked out by hand from this table (see the comments there).
 *
 *  dir A (host box-a)                               dir B (host box-b)
 *  archive/generation_history_2025-09.jsonl.gz A1 A2  archive/generation_history_2025-10.jsonl  B1
 *  generation_history_2025-10.jsonl  A3, CORRUPT, A4r0 generation_history.jsonl  B2 B3 A1(copy)
 *  generation_history_2025-11.jsonl.gz  A5
 *  generation_history.jsonl  A4r1 A6 A7(supersedes A6) A8
 *  set-aside/generation-history.torn-tail-20251101T000000000Z.txt, state/index/generation-history.idx (ignored)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { emptyRecord, type GenerationRecord, type Outcome, type TaskType, type ErrorType } from '../../src/schema';
import { serializeRecord } from '../../src/schema/serialize';

/** 2025-11-20T00:00:00Z: "now" for --last-days. */
export const NOW = Date.UTC(2025, 10, 20);

interface Row {
  key: string;
  id: number;
  rev?: number;
  ts: string;
  host: 'box-a' | 'box-b';
  task: TaskType;
  outcome: Outcome;
  score?: number;
  clip?: number;
  thr: number;
  validator?: number;
  delay?: number;
  received?: boolean;
  submitted?: boolean;
  timing: Record<string, number>;
  error?: [ErrorType, string];
  pre?: boolean;
  inferred?: boolean;
  /** An `*_ambiguous` incomplete reason: an event that may have been this record's went to another. */
  ambiguous?: string;
  supersedes?: number[];
  image?: boolean;
  ply?: boolean;
}

const HEX = (n: number): string => n.toString(16).padStart(64, '0');
export const uuid = (n: number): string => `00000000-0000-5000-8000-${n.toString(16).padStart(12, '0')}`;

// prettier-ignore
export const ROWS: Row[] = [
  { key: 'A1', id: 1, ts: '2025-09-10T10:00:00.000Z', host: 'box-a', task: 'TEXT-TO-3D', outcome: 'accepted', score: 0.8, clip: 0.25, thr: 0.1, validator: 57, delay: 60, timing: { total_time: 20, sdxl_time: 8, trellis_time: 12 }, ply: true },
  { key: 'A2', id: 2, ts: '2025-09-11T10:00:00.000Z', host: 'box-a', task: 'IMAGE-TO-3D', outcome: 'rejected', score: 0, clip: 0.15, thr: 0.1, validator: 57, delay: 90, timing: { total_time: 30, trellis_time: 25, background_removal_time: 2 }, image: true, ambiguous: 'submit_failure_ambiguous' },
  { key: 'A3', id: 3, ts: '2025-10-01T12:00:00.000Z', host: 'box-a', task: 'IMAGE-TO-3D', outcome: 'generation_failed', score: 0, thr: 0.1, validator: 49, delay: 30, timing: { total_time: 40 }, error: ['endpoint_timeout', 'The request to the endpoint timed out'] },
  { key: 'A4r0', id: 4, ts: '2025-10-02T12:00:00.000Z', host: 'box-a', task: 'TEXT-TO-3D', outcome: 'no_feedback', received: false, submitted: false, clip: 0.12, thr: 0.1, timing: { total_time: 22, sdxl_time: 9, trellis_time: 13 }, inferred: true },
  { key: 'A5', id: 5, ts: '2025-11-15T08:00:00.000Z', host: 'box-a', task: 'IMAGE-TO-3D', outcome: 'accepted', score: 0.7, clip: 0.2, thr: 0.1, validator: 49, delay: 70, timing: { total_time: 25, trellis_time: 20, background_removal_time: 1.5, saving_time: 0.04 }, inferred: true, image: true, ply: true },
  { key: 'A4r1', id: 4, rev: 1, ts: '2025-10-02T12:00:00.000Z', host: 'box-a', task: 'TEXT-TO-3D', outcome: 'accepted', score: 0.6, clip: 0.12, thr: 0.1, validator: 57, delay: 50, timing: { total_time: 22, sdxl_time: 9, trellis_time: 13 } },
  { key: 'A6', id: 6, ts: '2025-11-18T09:00:00.000Z', host: 'box-a', task: 'TEXT-TO-3D', outcome: 'interrupted', received: false, submitted: false, thr: 0.1, timing: {} },
  { key: 'A7', id: 7, ts: '2025-11-18T09:05:00.000Z', host: 'box-a', task: 'TEXT-TO-3D', outcome: 'accepted', score: 0.9, clip: 0.3, thr: 0.1, validator: 142, delay: 40, timing: { total_time: 18, sdxl_time: 7, trellis_time: 11 }, supersedes: [6], ply: true },
  { key: 'A8', id: 8, ts: '2025-11-19T10:00:00.000Z', host: 'box-a', task: 'IMAGE-TO-3D', outcome: 'generation_failed', score: 0, clip: 0.08, thr: 0.1, validator: 57, delay: 5, timing: { total_time: 15, trellis_time: 14, background_removal_time: 1 }, error: ['pre_submission_rejection', 'clip_below_threshold'], pre: true, image: true },
  { key: 'B1', id: 11, ts: '2025-10-20T00:00:00.000Z', host: 'box-b', task: 'TEXT-TO-3D', outcome: 'rejected', score: 0, clip: 0.18, thr: 0.12, validator: 142, delay: 80, timing: { total_time: 21, sdxl_time: 8, trellis_time: 13 } },
  { key: 'B2', id: 12, ts: '2025-11-19T12:00:00.000Z', host: 'box-b', task: 'IMAGE-TO-3D', outcome: 'accepted', score: 0.75, clip: 0.22, thr: 0.12, validator: 49, delay: 65, timing: { total_time: 28, trellis_time: 24, background_removal_time: 2 }, image: true, ply: true },
  { key: 'B3', id: 13, ts: '2025-11-19T13:00:00.000Z', host: 'box-b', task: 'IMAGE-TO-3D', outcome: 'submit_failed', received: false, submitted: false, clip: 0.19, thr: 0.12, timing: { total_time: 26, trellis_time: 22, background_removal_time: 2 }, error: ['submit_failed', 'Failed to submit results to [5F3sa2]'], image: true },
];

export function record(row: Row): GenerationRecord {
  const r = emptyRecord({ generation_id: uuid(row.id), timestamp: row.ts, host: row.host, miner_app: 'miner-sn17-mainnet', collector_version: '0.1.0', outcome: row.outcome });
  r.task.task_type = row.task;
  r.task.is_base64_image = row.task === 'IMAGE-TO-3D';
  r.task.prompt = row.task === 'IMAGE-TO-3D' ? `[BASE64_IMAGE_HASH:sha256:${HEX(row.id)}]` : `a chair number ${row.id}`;
  if (row.image) {
    r.task.base64_image_hash = `sha256:${HEX(row.id)}`;
    r.task.image_file_path = `images/${HEX(row.id)}.png`;
  }
  r.miner_config.clip_threshold = row.thr;
  Object.assign(r.generation.timing, row.timing);
  r.generation.output.quality_metrics.clip_score = row.clip ?? null;
  if (row.ply) {
    r.generation.output.ply_file_hash = `sha256:${HEX(row.id + 100)}`;
    r.generation.output.ply_file_path = `ply_files/${uuid(row.id)}_${HEX(row.id + 100)}.ply`;
  }
  const received = row.received ?? true;
  r.generation.submission.submitted = row.submitted ?? true;
  r.generation.submission.pre_submission_rejection = row.pre ?? false;
  r.validator_feedback.received = received;
  r.validator_feedback.score = row.score ?? null;
  r.validator_feedback.accepted = row.score === undefined ? null : row.score > 0;
  r.validator_feedback.feedback_delay_seconds = row.delay ?? null;
  r.metadata.validator_uid = row.validator ?? null;
  if (row.error) {
    r.failure_analysis = { failed: true, error_type: row.error[0], error_message: row.error[1], stack_trace: null };
  }
  r.provenance.revision = row.rev ?? 0;
  r.provenance.supersedes = (row.supersedes ?? []).map(uuid);
  r.provenance.links = [{ event: 'generation_completed', link: row.inferred ? 'inferred' : 'exact', candidates: 1 }];
  if (row.ambiguous) r.provenance = { ...r.provenance, incomplete: true, incomplete_reasons: [row.ambiguous] };
  return r;
}

const line = (key: string): string => `${serializeRecord(record(ROWS.find((r) => r.key === key)!))}\n`;
export const CORRUPT_LINE = '{"metadata":{"generation_id":"00000000-0000-5000-8000-0000000000ff","timest\n';

function write(file: string, text: string, gz = false): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, gz ? zlib.gzipSync(text) : text);
}

function blobs(dir: string, keys: string[]): void {
  for (const k of keys) {
    const r = record(ROWS.find((x) => x.key === k)!);
    for (const p of [r.task.image_file_path, r.generation.output.ply_file_path]) if (p) write(path.join(dir, p), 'x');
  }
}

/** Writes the two data dirs under a fresh temp dir and returns their paths. */
export function buildFleet(): { root: string; a: string; b: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-query-'));
  const a = path.join(root, 'a');
  const b = path.join(root, 'b');
  write(path.join(a, 'archive', 'generation_history_2025-09.jsonl.gz'), line('A1') + line('A2'), true);
  write(path.join(a, 'generation_history_2025-10.jsonl'), line('A3') + CORRUPT_LINE + line('A4r0'));
  write(path.join(a, 'generation_history_2025-11.jsonl.gz'), line('A5'), true);
  write(path.join(a, 'generation_history.jsonl'), line('A4r1') + line('A6') + line('A7') + line('A8'));
  write(path.join(a, 'set-aside', 'generation-history.torn-tail-20251101T000000000Z.txt'), '{"torn');
  write(path.join(a, 'state', 'index', 'generation-history.idx'), '#idx1 \n');
  write(path.join(a, 'miner_config_history.jsonl'), '{"not":"a generation"}\n');
  write(path.join(b, 'archive', 'generation_history_2025-10.jsonl'), line('B1'));
  write(path.join(b, 'generation_history.jsonl'), line('B2') + line('B3') + line('A1'));
  // files on disk: A1's and A7's PLY in A, B2's image and PLY in B; A5's are missing on purpose
  blobs(a, ['A1', 'A7']);
  blobs(b, ['B2']);
  return { root, a, b };
}
