/**
 * Issue 16: records in the spec's own schema (no outcome, no provenance) are read by analyze and export,
 * beside our own records; JSON that is no record is counted apart from corrupt lines (not JSON).
 * Every expected number is counted by hand from the files written here (comments show the arithmetic).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { runAnalyze } from '../../src/cli/analyze';
import type { CliIo } from '../../src/cli/io';
import { runExport } from '../../src/cli/export';
import { GenerationRecordSchema, fromSpecRecord, specTime, type GenerationRecord } from '../../src/schema';
import { serializeRecord } from '../../src/schema/serialize';
import { loadDataset } from '../../src/query';
import { readOtherShape } from '../../src/query/unit-scan';
import { ROWS, record, CORRUPT_LINE } from './fixture';
import { SPEC_CASES, specRecord } from './spec-fixture';

const own = (key: string): string => `${serializeRecord(record(ROWS.find((r) => r.key === key)!))}\n`;
const spec = SPEC_CASES.map((c) => ({ ...c, rec: specRecord(c.row) }));
const specLine = (i: number): string => `${JSON.stringify(spec[i]!.rec)}\n`;
const NOT_A_RECORD = '{"event":"pull","time":"2025-11-12T21:30:45.123Z"}\n'; // lacks metadata
// ours (it has `outcome`), without provenance: never read as the spec's
const OWN_BROKEN = '{"metadata":{"generation_id":"x","timestamp":"2025-11-12T21:30:45.123Z"},"outcome":"accepted"}\n';

let root: string;
let mixed: string;
let monthly: string;
let live: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-spec-'));
  mixed = path.join(root, 'mixed');
  fs.mkdirSync(mixed);
  monthly = path.join(mixed, 'generation_history_2025-10.jsonl');
  live = path.join(mixed, 'generation_history.jsonl');
  // monthly (read first): A1, spec 0-3, corrupt (line 6), not a record (line 7)
  fs.writeFileSync(monthly, own('A1') + specLine(0) + specLine(1) + specLine(2) + specLine(3) + CORRUPT_LINE + NOT_A_RECORD);
  // live: spec 4-8, B2, ours broken (line 7)
  fs.writeFileSync(live, specLine(4) + specLine(5) + specLine(6) + specLine(7) + specLine(8) + own('B2') + OWN_BROKEN);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function run(cmd: typeof runAnalyze, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { now: () => Date.UTC(2025, 10, 20), stdout: (s) => void (out += s), stderr: (s) => void (err += s), stderrIsTty: false, threads: 0 };
  const code = await cmd(args, io);
  return { code, out, err };
}

describe('fromSpecRecord', () => {
  test.each(SPEC_CASES)('$key -> $outcome', ({ row, outcome }) => {
    const r = fromSpecRecord(specRecord(row)) as GenerationRecord;
    expect(r.outcome).toBe(outcome);
    expect(r.provenance).toMatchObject({ revision: 0, supersedes: [], incomplete: false, incomplete_reasons: [] });
  });

  test("the spec's example becomes a record valid per our schema, its fields kept, times in milliseconds", () => {
    const raw = specRecord({ id: '5b7f3c1e-8d2a-4f6b-9c0e-1a2b3c4d5e6f' });
    const r = fromSpecRecord(raw, { host: 'gpu-box-1', minerApp: 'miner-sn17-mainnet', collectorVersion: '0.2.0' }) as GenerationRecord;
    const parsed = GenerationRecordSchema.safeParse(r);
    expect(parsed.success).toBe(true);
    expect(r.metadata.generation_id).toBe('5b7f3c1e-8d2a-4f6b-9c0e-1a2b3c4d5e6f');
    expect(r.generation.submission.submission_time).toBe('2025-11-12T21:31:06.000Z'); // spec: 21:31:06Z
    expect(r.miner_config).toEqual((raw as { miner_config: unknown }).miner_config); // open objects keep the extras
    expect(r.generation.output.quality_metrics.clip_model).toBe('ViT-L/14');
    expect(r.validator_feedback.reward).toBeNull(); // our additions: null
  });

  test('a value that does not fit is not kept, and the record says which', () => {
    const raw = specRecord() as { metadata: Record<string, unknown>; generation: { timing: Record<string, unknown> } };
    raw.metadata.miner_uid = '226';
    raw.metadata.gpu = 'A100';
    raw.generation.timing.stages = [1, 2];
    const r = fromSpecRecord(raw) as GenerationRecord;
    expect(r.metadata.miner_uid).toBeNull();
    expect(r.provenance.incomplete).toBe(true);
    expect(r.provenance.incomplete_reasons).toEqual(['spec_key_not_kept:metadata.gpu', 'spec_value_not_kept:metadata.miner_uid', 'spec_value_not_kept:generation.timing.stages']);
  });

  test('spec times: ours as they are; others, and days not every month has, through a parse (same results)', () => {
    expect(specTime('2025-11-12T21:30:45.123Z')).toBe('2025-11-12T21:30:45.123Z');
    expect(specTime('2025-11-12T21:30:45')).toBe('2025-11-12T21:30:45.000Z');
    expect(specTime('2025-11-12T22:30:45.5+01:00')).toBe('2025-11-12T21:30:45.500Z');
    // JavaScript's parser rolls Feb 30 over to March 2: the same as before the shortcut
    expect(specTime('2025-02-30T00:00:00.000Z')).toBe('2025-03-02T00:00:00.000Z');
    expect(specTime('2025-13-01T00:00:00.000Z')).toBeUndefined();
    expect(specTime('not a time')).toBeUndefined();
  });

  test('an unknown error type becomes exception, its name kept in the message', () => {
    const r = fromSpecRecord(specRecord(SPEC_CASES.find((c) => c.key === 'failed')!.row)) as GenerationRecord;
    expect(r.failure_analysis).toEqual({ failed: true, error_type: 'exception', error_message: 'TimeoutError: request to the endpoint timed out', stack_trace: null });
  });

  test('the first missing field of JSON that is no record; a line with our keys is never read as the spec', () => {
    expect(fromSpecRecord([])).toEqual({ notRecord: '(root)' });
    expect(fromSpecRecord({ event: 'pull' })).toEqual({ notRecord: 'metadata' });
    expect(fromSpecRecord({ metadata: { generation_id: 'x' } })).toEqual({ notRecord: 'metadata.timestamp' });
    const noFeedback = specRecord() as Record<string, unknown>;
    delete noFeedback.validator_feedback;
    expect(fromSpecRecord(noFeedback)).toEqual({ notRecord: 'validator_feedback' });
    expect(readOtherShape(JSON.parse(OWN_BROKEN))).toEqual({ notRecord: 'provenance' });
  });
});

describe('analyze over spec records mixed with ours', () => {
  test('totals equal the hand count', async () => {
    const r = await run(runAnalyze, ['--data-dir', mixed, '--summary', '--failures', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const s = j.scope.scan;
    expect(s).toMatchObject({
      files: 2,
      lines: 14, // 7 + 7
      records: 11, // 9 spec + A1 + B2
      spec_records: 9,
      corrupt: 1,
      first_corrupt: { file: monthly, line: 6 },
      not_record: 2, // the pull event, ours without provenance
      first_not_record: { file: monthly, line: 7, missing: 'metadata' },
      kept: 11,
    });
    const sum = j.summary;
    // accepted: spec accepted, accepted-text, accepted-by-score + A1 + B2; generation_failed: pre-rejected, failed
    expect(sum.by_outcome).toEqual({ accepted: 5, rejected: 1, validation_failed: 1, generation_failed: 2, submit_failed: 1, no_feedback: 1, interrupted: 0 });
    // received: spec accepted x3, rejected, pre-rejected, no-score + A1 + B2
    expect(sum.feedback_received).toBe(8);
    expect(sum.acceptance_rate).toBeCloseTo(5 / 8, 12);
    // TEXT: accepted-text, accepted-by-score, no-feedback, no-score, A1; IMAGE: the other 5 spec + B2
    expect(sum.by_task_type.map((t: { task_type: string; records: number }) => [t.task_type, t.records])).toEqual([
      ['TEXT-TO-3D', 5],
      ['IMAGE-TO-3D', 6],
    ]);
    expect(sum.pre_submission_rejections).toBe(1);
    expect(j.failures.by_type).toEqual([{ error_type: 'exception', count: 1, share: 1, sample_message: 'TimeoutError: request to the endpoint timed out' }]);
    expect(r.err).toContain(`Not-a-record lines skipped (JSON, but no generation record in our schema or the spec's): 2 (first at ${monthly}:7, missing metadata)`);
  });

  const hasJq = spawnSync('which', ['jq']).status === 0;
  (hasJq ? test : test.skip)('the same totals as jq computes from the raw lines', async () => {
    const j = JSON.parse((await run(runAnalyze, ['--data-dir', mixed, '--json'])).out);
    const jq = (filter: string): number => Number(execFileSync('jq', ['-R', '-n', filter, monthly, live], { encoding: 'utf8' }).trim());
    const isRecord =
      '((has("outcome") and has("provenance")) or ((((has("outcome") or has("provenance")) | not)) and has("generation") and has("validator_feedback") and has("failure_analysis")))';
    const accepted =
      'if has("outcome") then .outcome == "accepted" else (.validator_feedback.received and (.validator_feedback.accepted == true or (.validator_feedback.accepted == null and .validator_feedback.score > 0)) and (.generation.submission.pre_submission_rejection | not) and (.failure_analysis.failed | not)) end';
    expect(j.scope.scan.records).toBe(jq(`[inputs | fromjson? | objects | select(${isRecord})] | length`));
    expect(j.summary.accepted).toBe(jq(`[inputs | fromjson? | objects | select(${isRecord}) | select(${accepted})] | length`));
  });

  test('the text summary names both kinds of skipped lines', async () => {
    const r = await run(runAnalyze, ['--data-dir', mixed]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("11 records (9 of them in the spec's schema");
    expect(r.out).toContain(`Corrupt lines skipped: 1 (first at ${monthly}:6)`);
    expect(r.out).toContain(`: 2 (first at ${monthly}:7, missing metadata)`);
  });

  test('units cut anywhere give the same counts and positions', async () => {
    for (const chunkBytes of [50, 700, 4096]) {
      const ds = await loadDataset({ dataDirs: [mixed], threads: 0, chunkBytes });
      expect(ds.stats).toMatchObject({ records: 11, specRecords: 9, corrupt: 1, notRecord: 2, firstNotRecord: { file: monthly, line: 7, missing: 'metadata' } });
    }
  });
});

describe("a data dir of only the spec's records (the issue's case)", () => {
  test('every record is counted, exit 0', async () => {
    const dir = path.join(root, 'only-spec');
    fs.mkdirSync(dir);
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(JSON.stringify(specRecord(SPEC_CASES[i % SPEC_CASES.length]!.row)));
    fs.writeFileSync(path.join(dir, 'generation_history.jsonl'), `${lines.join('\n')}\n`);
    const r = await run(runAnalyze, ['--data-dir', dir, '--summary', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.scope.scan).toMatchObject({ records: 3000, spec_records: 3000, corrupt: 0, not_record: 0, kept: 3000 });
    // 3000 / 9 cases = 333 rounds + 3 (accepted, accepted-text, accepted-by-score): 3 accepted cases a round
    expect(j.summary.accepted).toBe(333 * 3 + 3);
  });
});

describe('exit status when nothing can be read', () => {
  test('only corrupt and not-a-record lines: analyze and export exit 1, export writes nothing', async () => {
    const dir = path.join(root, 'junk');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'generation_history.jsonl'), CORRUPT_LINE + NOT_A_RECORD);
    const a = await run(runAnalyze, ['--data-dir', dir]);
    expect(a.code).toBe(1);
    expect(a.out).toContain('Corrupt lines skipped: 1');
    const out = path.join(root, 'junk-export.jsonl');
    const e = await run(runExport, ['--data-dir', dir, '--output', out]);
    expect(e.code).toBe(1);
    expect(e.err).toContain('no record could be read');
    expect(fs.existsSync(out)).toBe(false);
  });

  test('an empty data dir is no error (exit 0); a missing one is', async () => {
    const dir = path.join(root, 'empty');
    fs.mkdirSync(dir);
    expect((await run(runAnalyze, ['--data-dir', dir])).code).toBe(0);
    await expect(run(runAnalyze, ['--data-dir', path.join(root, 'nope')])).rejects.toThrow(/no such data dir/);
  });
});

describe('export of spec records', () => {
  test('written as read into ours, with the derived outcome and where the line was; ours unchanged', async () => {
    const out = path.join(root, 'export.jsonl');
    const r = await run(runExport, ['--data-dir', mixed, '--output', out, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ selected: 11, written: 11 });
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    const byId = new Map(lines.map((l) => [JSON.parse(l).metadata.generation_id as string, l]));
    for (const c of spec) {
      const id = (c.rec.metadata as { generation_id: string }).generation_id;
      const e = JSON.parse(byId.get(id)!);
      expect(e.outcome).toBe(c.outcome);
      expect(e.validator_feedback.score).toEqual((c.rec.validator_feedback as { score: unknown }).score);
      const src = e.provenance.sources[0];
      expect(src.event).toBe('spec_record');
      // the offset points at the line itself
      const at = fs.readFileSync(src.file).subarray(src.offset).toString('utf8').split('\n')[0]!;
      expect(JSON.parse(at)).toEqual(c.rec);
      expect(e.export.data_dir).toBe(mixed);
    }
    const a1 = own('A1').trimEnd();
    const exported = byId.get(JSON.parse(a1).metadata.generation_id)!;
    expect(exported.startsWith(a1.slice(0, -1))).toBe(true); // the stored line, unchanged, then "export"
  });

  test('--no-inferred leaves them out: they carry no provenance to say how their events were linked', async () => {
    const out = path.join(root, 'export-certain.jsonl');
    const r = await run(runExport, ['--data-dir', mixed, '--output', out, '--no-inferred', '--json']);
    expect(r.code).toBe(0);
    const ids = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).metadata.generation_id as string);
    const specIds = new Set(spec.map((c) => (c.rec.metadata as { generation_id: string }).generation_id));
    expect(ids.length).toBe(11 - specIds.size);
    expect(ids.some((id) => specIds.has(id))).toBe(false);
  });
});
