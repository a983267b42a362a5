import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  GenerationRecordSchema,
  SCHEMA_VERSION,
  emptyRecord,
  generationId,
  parseRecordLine,
  serializeRecord,
  type GenerationRecord,
} from '../../src/schema';
import { CollectorError } from '../../src/common/errors';
import { exampleRecord } from './example-record';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The same value with every object's keys reversed (a deterministic "shuffle"). */
function reverseKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)]));
}

/** Every object's key list, by path, in order. */
function keyOrder(v: Json, at = '$', out: Record<string, string[]> = {}): Record<string, string[]> {
  if (Array.isArray(v)) v.forEach((x, i) => keyOrder(x, `${at}[${i}]`, out));
  else if (v !== null && typeof v === 'object') {
    out[at] = Object.keys(v);
    for (const [k, x] of Object.entries(v)) keyOrder(x, `${at}.${k}`, out);
  }
  return out;
}

function invalidMessage(record: unknown): string {
  try {
    serializeRecord(record as GenerationRecord);
  } catch (err) {
    expect(err).toBeInstanceOf(CollectorError);
    expect((err as CollectorError).code).toBe('INVALID_RECORD');
    return (err as Error).message;
  }
  throw new Error('expected serializeRecord to throw');
}

/** The spec's top-level and nested key order, additions after. */
const SPEC_ORDER = {
  $: ['metadata', 'task', 'miner_config', 'generation', 'validator_feedback', 'failure_analysis', 'competition', 'outcome', 'provenance'],
  '$.metadata': ['generation_id', 'timestamp', 'miner_uid', 'miner_version', 'validator_uid', 'validator_hotkey', 'network', 'host', 'miner_app'],
  '$.task': ['task_type', 'prompt', 'prompt_length', 'is_base64_image', 'base64_image_hash', 'image_file_path', 'log_id'],
  '$.generation': ['enhanced_prompt', 'negative_prompt', 'timing', 'output', 'submission'],
  '$.generation.output': ['num_gaussians', 'file_size_mb', 'ply_file_path', 'ply_file_hash', 'quality_metrics', 'gaussian_stats', 'file_size_bytes', 'ply_error'],
  '$.generation.submission': ['submitted', 'submission_time', 'pre_submission_rejection', 'rejection_reason'],
  '$.validator_feedback': ['received', 'feedback_time', 'score', 'accepted', 'feedback_delay_seconds', 'average_score', 'duel_rating', 'accepted_recent', 'accepted_window_hours', 'reward'],
  '$.failure_analysis': ['failed', 'error_type', 'error_message', 'stack_trace'],
};

describe('generation record schema', () => {
  test("the spec's example record, made concrete, validates", () => {
    const parsed = GenerationRecordSchema.safeParse(exampleRecord());
    expect(parsed.error).toBeUndefined();
    expect(parsed.success).toBe(true);
  });

  test("the example's id follows the recipe of src/schema/ids.ts", () => {
    const r = exampleRecord();
    const id = generationId({ minerApp: r.metadata.miner_app, headerTime: '2025-11-12 21:30:45.123', logId: r.task.log_id!, occurrence: 0 });
    expect(r.metadata.generation_id).toBe(id);
  });

  test('keys come out in spec order from an input with shuffled keys; extras after declared keys', () => {
    const shuffled = reverseKeys(exampleRecord() as unknown as Json);
    expect(Object.keys(shuffled as object)[0]).toBe('provenance');
    const line = serializeRecord(shuffled as unknown as GenerationRecord);
    const order = keyOrder(JSON.parse(line) as Json);
    for (const [at, keys] of Object.entries(SPEC_ORDER)) expect(order[at]).toEqual(keys);
    // catchall extras (reversed in the input: they came first) follow the declared keys
    expect(order['$.miner_config']).toEqual(['trellis_sparse_steps', 'trellis_slat_steps', 'gaussian_threshold', 'clip_threshold', 'sdxl_steps']);
    expect(order['$.generation.timing']).toEqual(['total_time', 'sdxl_time', 'background_removal_time', 'trellis_time', 'saving_time']);
    // extras keep their input order among themselves (here reversed)
    expect(order['$.generation.output.gaussian_stats']).toEqual(['opacity_mean', 'scale_mean', 'opacity_std']);
    expect(order['$.provenance.sources[0]']).toEqual(['event', 'file', 'offset']);
  });

  test('a wrong type gets a message naming the path', () => {
    const r = exampleRecord() as unknown as { metadata: Record<string, unknown> };
    r.metadata.validator_uid = '57';
    expect(invalidMessage(r)).toBe(
      'invalid generation record: metadata.validator_uid: Invalid input: expected number, received string',
    );
  });

  test('times must be ISO-8601 UTC with milliseconds and Z', () => {
    for (const bad of ['2025-11-12T21:31:06Z', '2025-11-12 21:31:06.000', '2025-11-12T21:31:06.000+01:00']) {
      const r = exampleRecord();
      r.generation.submission.submission_time = bad;
      expect(invalidMessage(r)).toBe(
        'invalid generation record: generation.submission.submission_time: expected an ISO-8601 UTC time with milliseconds and Z, e.g. 2025-11-12T21:30:45.123Z',
      );
    }
  });

  test('enums, hashes and paths are checked', () => {
    const r = exampleRecord();
    (r as { outcome: string }).outcome = 'maybe';
    r.task.base64_image_hash = 'sha256:abc123...';
    r.failure_analysis.error_type = 'oops' as never;
    const msg = invalidMessage(r);
    expect(msg).toContain('task.base64_image_hash: expected sha256:<64 lowercase hex digits>');
    expect(msg).toContain('failure_analysis.error_type: Invalid option');
    expect(msg).toContain('outcome: Invalid option');
  });

  test('missing keys are rejected: unknown values are null, never absent', () => {
    const r = exampleRecord() as unknown as { validator_feedback: Record<string, unknown>; task: Record<string, unknown> };
    delete r.validator_feedback.score;
    delete r.task.log_id;
    expect(invalidMessage(r)).toBe(
      'invalid generation record: task.log_id: missing key (write null when the value is unknown); ' +
        'validator_feedback.score: missing key (write null when the value is unknown)',
    );
    const withNull = exampleRecord();
    withNull.validator_feedback.score = null;
    expect(() => serializeRecord(withNull)).not.toThrow();
  });

  test('unknown keys in closed objects are rejected', () => {
    const r = exampleRecord() as unknown as { metadata: Record<string, unknown> };
    r.metadata.colour = 'blue';
    expect(invalidMessage(r)).toContain('metadata: Unrecognized key: "colour"');
  });

  test('extra keys in open objects are kept; nested values there are refused', () => {
    const r = exampleRecord();
    r.generation.output.quality_metrics.aesthetic = 5.2;
    r.miner_config.model_name = 'trellis-large';
    r.generation.timing.queue_time = null;
    const back = JSON.parse(serializeRecord(r)) as GenerationRecord;
    expect(back.generation.output.quality_metrics.aesthetic).toBe(5.2);
    expect(back.miner_config.model_name).toBe('trellis-large');
    expect(back.generation.timing).toHaveProperty('queue_time', null);
    (r.generation.timing as Record<string, unknown>).bad = { nested: 1 };
    expect(invalidMessage(r)).toContain('generation.timing.bad: Invalid input');
  });

  test('compact output: one line, no trailing newline, grep-able', () => {
    const line = serializeRecord(exampleRecord());
    expect(line).not.toMatch(/\n/);
    expect(line).toContain('"accepted":true');
    expect(line).toContain('"outcome":"accepted"');
    expect(line).toContain('"validator_uid":57');
    expect(line.startsWith('{"metadata":{"generation_id":')).toBe(true);
  });

  test('round trip: serialize -> parseRecordLine', () => {
    const line = serializeRecord(exampleRecord());
    const parsed = parseRecordLine(`${line}\n`);
    expect(parsed).toEqual({ ok: true, record: exampleRecord() });
    if (parsed.ok) expect(serializeRecord(parsed.record)).toBe(line);
  });

  test('parseRecordLine reports bad JSON and schema errors as values', () => {
    const torn = parseRecordLine('{"metadata":{"generation_id":"3f1c');
    expect(torn.ok).toBe(false);
    if (!torn.ok) expect(torn.error).toMatch(/^not JSON: /);
    const wrong = parseRecordLine(serializeRecord(exampleRecord()).replace('"score":0.65', '"score":"0.65"'));
    expect(wrong).toEqual({ ok: false, error: 'validator_feedback.score: Invalid input: expected number, received string' });
  });

  test('emptyRecord has every key, validates, and serializes in the same shape as a full record', () => {
    const id = generationId({ minerApp: 'miner-sn17-mainnet', headerTime: '2025-11-12 21:30:45.123', logId: 'a chair', occurrence: 0 });
    const rec = emptyRecord({
      generation_id: id,
      timestamp: '2025-11-12T21:30:45.123Z',
      host: 'gpu-box-1',
      miner_app: 'miner-sn17-mainnet',
      collector_version: '0.1.0',
    });
    expect(rec.provenance.schema_version).toBe(SCHEMA_VERSION);
    expect(rec.outcome).toBe('interrupted');
    const line = serializeRecord(rec);
    const full = exampleRecord();
    // the same keys in the same order, except the example's catchall extras
    const emptyOrder = keyOrder(JSON.parse(line) as Json);
    const fullOrder = keyOrder(full as unknown as Json);
    for (const [at, keys] of Object.entries(SPEC_ORDER)) expect(emptyOrder[at]).toEqual(keys);
    for (const at of Object.keys(emptyOrder)) expect(fullOrder[at]?.slice(0, emptyOrder[at]!.length)).toEqual(emptyOrder[at]);
    expect(line).toContain('"validator_uid":null');
  });
});

test("data/README.md's example line is the example record, as the store writes it", () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '../../data/README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith('{"metadata":'));
  expect(line).toBe(serializeRecord(exampleRecord()));
});
