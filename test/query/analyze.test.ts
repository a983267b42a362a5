/**
 * analyze and export over the fixed fleet in fixture.ts. Every expected number is worked out by hand
 * from the ROWS table there; the comments show the arithmetic.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runAnalyze } from '../../src/cli/analyze';
import type { CliIo } from '../../src/cli/io';
import { runExport } from '../../src/cli/export';
import { UsageError } from '../../src/cli/command';
import { buildFleet, NOW, uuid } from './fixture';

let fleet: { root: string; a: string; b: string };
beforeAll(() => {
  fleet = buildFleet();
});
afterAll(() => fs.rmSync(fleet.root, { recursive: true, force: true }));

async function run(cmd: typeof runAnalyze, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { now: () => NOW, stdout: (s) => void (out += s), stderr: (s) => void (err += s), stderrIsTty: false, threads: 0 };
  const code = await cmd(['--data-dir', fleet.a, '--data-dir', fleet.b, ...args], io);
  return { code, out, err };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(args: string[]): Promise<any> {
  const r = await run(runAnalyze, [...args, '--json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
}

describe('reading: files, corrupt lines, revisions, supersedes, two data dirs', () => {
  test('scan figures', async () => {
    const j = await json(['--summary']);
    const s = j.scope.scan;
    // files: A: archive gz, 2025-10, 2025-11.gz, live (set-aside/, state/ and miner_config_history ignored); B: archive, live
    expect(s.files).toBe(6);
    // lines: A 2 + 3 + 1 + 4 = 10; B 1 + 3 = 4
    expect(s.lines).toBe(14);
    // records: 14 lines - 1 corrupt = 13 (A4 twice, A6, the copy of A1)
    expect(s.records).toBe(13);
    expect(s.corrupt).toBe(1);
    expect(s.first_corrupt).toEqual({ file: path.join(fleet.a, 'generation_history_2025-10.jsonl'), line: 2 });
    expect(s.older_revisions).toBe(1); // A4 revision 0
    expect(s.superseded).toBe(1); // A6, named by A7
    expect(s.duplicates).toBe(1); // A1 copied into dir B
    expect(s.kept).toBe(10); // 13 - 1 - 1 - 1
    expect(j.scope.selected).toBe(10);
    expect(j.scope.acceptance_rate).toBe('accepted / feedback_received');
  });

  test('the footer reports the corrupt line', async () => {
    const r = await run(runAnalyze, []);
    expect(r.out).toContain(`Corrupt lines skipped: 1 (first at ${path.join(fleet.a, 'generation_history_2025-10.jsonl')}:2)`);
    expect(r.out).toContain('Summary'); // --summary is the default
  });
});

describe('analyze --summary', () => {
  test('counts, rates, percentiles', async () => {
    const s = (await json(['--summary'])).summary;
    expect(s.records).toBe(10);
    // accepted: A1 A4 A5 A7 B2; rejected: A2 B1; generation_failed: A3 A8; submit_failed: B3
    expect(s.by_outcome).toEqual({ accepted: 5, rejected: 2, validation_failed: 0, generation_failed: 2, submit_failed: 1, no_feedback: 0, interrupted: 0 });
    expect(s.feedback_received).toBe(9); // all but B3
    expect(s.accepted).toBe(5);
    expect(s.acceptance_rate).toBeCloseTo(5 / 9, 12);
    // TEXT: A1 A4 A7 accepted, B1 rejected -> 3/4; IMAGE: A2 A3 A5 A8 B2 B3, received 5 (not B3), accepted A5 B2
    expect(s.by_task_type.map((t: { task_type: string; records: number; feedback_received: number; accepted: number }) => [t.task_type, t.records, t.feedback_received, t.accepted])).toEqual([
      ['TEXT-TO-3D', 4, 4, 3],
      ['IMAGE-TO-3D', 6, 5, 2],
    ]);
    expect(s.by_task_type[0].acceptance_rate).toBe(0.75);
    expect(s.by_task_type[1].acceptance_rate).toBe(0.4);
    // scores: 0 0 0 0 .6 .7 .75 .8 .9 (n 9, sum 3.75); p50 = 5th = .6; p90 = 9th (ceil 8.1) = .9
    expect(s.score).toMatchObject({ n: 9, min: 0, p50: 0.6, p90: 0.9, p99: 0.9, max: 0.9 });
    expect(s.score.mean).toBeCloseTo(3.75 / 9, 12);
    // clip: .08 .12 .15 .18 .19 .2 .22 .25 .3 (A3 has none; n 9, sum 1.69); p50 = 5th = .19
    expect(s.clip_score).toMatchObject({ n: 9, min: 0.08, p50: 0.19, p90: 0.3, max: 0.3 });
    expect(s.clip_score.mean).toBeCloseTo(1.69 / 9, 12);
    // total_time: 15 18 20 21 22 25 26 28 30 40 (sum 245); p50 = 5th = 22, p90 = 9th = 30, p99 = 10th = 40
    expect(s.generation_time.total_time).toEqual({ n: 10, mean: 24.5, min: 15, p50: 22, p90: 30, p99: 40, max: 40 });
    // sdxl: 7 8 8 9 -> p50 2nd = 8, p90 4th = 9 (mean 32/4)
    expect(s.generation_time.sdxl_time).toEqual({ n: 4, mean: 8, min: 7, p50: 8, p90: 9, p99: 9, max: 9 });
    // trellis: 11 12 13 13 14 20 22 24 25 -> p50 5th = 14, p90 9th = 25
    expect(s.generation_time.trellis_time).toMatchObject({ n: 9, p50: 14, p90: 25 });
    // background removal: 1 1.5 2 2 2 -> p50 3rd = 2
    expect(s.generation_time.background_removal_time).toMatchObject({ n: 5, p50: 2, min: 1 });
    expect(s.generation_time.saving_time).toMatchObject({ n: 1, p50: 0.04 }); // extra stage of A5
    expect(Object.keys(s.generation_time)[0]).toBe('total_time');
    expect(s.submitted).toBe(9); // all but B3
    expect(s.submission_rate).toBe(0.9);
    expect(s.failed).toBe(3); // A3 A8 B3
    expect(s.failure_rate).toBe(0.3);
    expect(s.pre_submission_rejections).toBe(1); // A8
    expect(s.inferred_attribution).toBe(1); // A5 (A4's inferred revision 0 is dropped)
    expect(s.first_record).toBe('2025-09-10T10:00:00.000Z'); // A1
    expect(s.last_record).toBe('2025-11-19T13:00:00.000Z'); // B3
  });

  test('the text form', async () => {
    const r = await run(runAnalyze, ['--summary']);
    expect(r.out).toMatch(/acceptance rate\s+55\.6%/);
    expect(r.out).toContain('acceptance = accepted / records with validator feedback received');
    expect(r.out).toMatch(/IMAGE-TO-3D\s+6\s+5\s+2\s+40\.0%/);
    expect(r.out).toMatch(/total_time\s+10\s+24\.5\s+22\s+30\s+40\s+15\s+40/);
  });
});

describe('filters', () => {
  const selected = async (args: string[]): Promise<number> => (await json(['--summary', ...args])).summary.records;
  test.each([
    [['--last-days', '7'], 5], // since 11-13T00: A5 (11-15) A7 (11-18) A8 B2 B3 (11-19)
    [['--since', '2025-10-01', '--until', '2025-10-21'], 3], // A3 (10-01T12) A4 (10-02) B1 (10-20T00)
    [['--until', '2025-10-20T00:00:00Z'], 4], // until is exclusive: A1 A2 A3 A4, not B1
    [['--task-type', 'IMAGE-TO-3D'], 6],
    [['--task-type', 'text-to-3d'], 4],
    [['--validator', '57'], 4], // A1 A2 A4 A8
    [['--min-score', '0.7'], 4], // .8 .7 .9 .75
    [['--min-clip', '0.2'], 4], // A1 .25, A5 .2, A7 .3, B2 .22
    [['--accepted-only'], 5],
    [['--no-inferred'], 8], // not A5 (an inferred link) nor A2 (submit_failure_ambiguous)
    [['--accepted-only', '--no-inferred'], 4], // A1 A4 A7 B2
    [['--host', 'box-b'], 3], // B1 B2 B3 (the copy of A1 in dir B is host box-a and a duplicate)
    [['--host', 'box-a', '--host', 'box-b'], 10],
    [['--outcome', 'rejected', '--outcome', 'submit_failed'], 3], // A2 B1 B3
    [['--task-type', 'IMAGE-TO-3D', '--min-score', '0.7', '--min-clip', '0.18'], 2], // A5 B2
  ] as [string[], number][])('%j -> %d records', async (args, n) => {
    expect(await selected(args)).toBe(n);
  });

  test('--no-inferred: in the JSON scope as the flag says it', async () => {
    expect((await json(['--summary', '--no-inferred'])).scope.filter).toEqual({ no_inferred: true });
  });

  test('--last-days 7: acceptance of the last week', async () => {
    const a = (await json(['--acceptance-rate', '--last-days', '7'])).acceptance.overall;
    // A5 A7 B2 accepted; received A5 A7 A8 B2 -> 3/4
    expect([a.records, a.feedback_received, a.accepted, a.acceptance_rate]).toEqual([5, 4, 3, 0.75]);
  });

  test('bad values are usage errors', async () => {
    await expect(run(runAnalyze, ['--task-type', 'VIDEO'])).rejects.toThrow(UsageError);
    await expect(run(runAnalyze, ['--last-days', 'x'])).rejects.toThrow(UsageError);
    await expect(run(runAnalyze, ['--since', 'yesterday'])).rejects.toThrow(UsageError);
    await expect(run(runAnalyze, ['--outcome', 'maybe'])).rejects.toThrow(UsageError);
    await expect(run(runAnalyze, ['--frobnicate'])).rejects.toThrow(UsageError);
  });
});

describe('analyze sections', () => {
  test('--acceptance-rate by day', async () => {
    const a = (await json(['--acceptance-rate'])).acceptance;
    expect(a.by_day.map((d: { day: string; records: number; feedback_received: number; accepted: number }) => [d.day, d.records, d.feedback_received, d.accepted])).toEqual([
      ['2025-09-10', 1, 1, 1], // A1
      ['2025-09-11', 1, 1, 0], // A2
      ['2025-10-01', 1, 1, 0], // A3
      ['2025-10-02', 1, 1, 1], // A4 revision 1
      ['2025-10-20', 1, 1, 0], // B1
      ['2025-11-15', 1, 1, 1], // A5
      ['2025-11-18', 1, 1, 1], // A7 (A6 superseded)
      ['2025-11-19', 3, 2, 1], // A8 B2 B3: B3 got no feedback
    ]);
    expect(a.by_day[7].acceptance_rate).toBe(0.5);
    expect(a.by_day[7].by_task_type['IMAGE-TO-3D'].records).toBe(3);
  });

  test('--failures', async () => {
    const f = (await json(['--failures'])).failures;
    expect(f.failed).toBe(3);
    expect(f.by_type).toEqual([
      { error_type: 'endpoint_timeout', count: 1, share: 1 / 3, sample_message: 'The request to the endpoint timed out' },
      { error_type: 'pre_submission_rejection', count: 1, share: 1 / 3, sample_message: 'clip_below_threshold' },
      { error_type: 'submit_failed', count: 1, share: 1 / 3, sample_message: 'Failed to submit results to [5F3sa2]' },
    ]);
    const img = (await json(['--failures', '--task-type', 'IMAGE-TO-3D'])).failures;
    expect(img.failed).toBe(3); // all three failures are image tasks
    const r = await run(runAnalyze, ['--failures']);
    expect(r.out).toMatch(/Failures: 3 of 10 records \(30\.0%\)/);
  });

  test('--clip-distribution', async () => {
    const c = (await json(['--clip-distribution'])).clip_distribution;
    expect(c.n).toBe(9);
    // thresholds: 0.1 on the 7 box-a records, 0.12 on the 3 box-b records -> 0.1 (the most common)
    expect(c.threshold).toBe(0.1);
    expect(c.threshold_source).toBe('records');
    expect(c.thresholds_seen).toEqual([{ value: 0.1, records: 7 }, { value: 0.12, records: 3 }]);
    expect(c.below_threshold).toBe(1); // A8 .08
    // bins of .02 from .08 (bin 4) to .30 (bin 15): .08 | - | .12 | .15 | - | .18 .19 | .2 | .22 | .25 | - | - | .3
    expect(c.bins.map((b: { count: number }) => b.count)).toEqual([1, 0, 1, 1, 0, 2, 1, 1, 1, 0, 0, 1]);
    expect(c.bins[0]).toEqual({ from: 0.08, to: 0.1, count: 1 });
    const flag = (await json(['--clip-distribution', '--clip-threshold', '0.2'])).clip_distribution;
    expect([flag.threshold, flag.threshold_source, flag.below_threshold]).toEqual([0.2, 'flag', 5]); // .08 .12 .15 .18 .19
    const text = (await run(runAnalyze, ['--clip-distribution'])).out;
    const lines = text.split('\n');
    const mark = lines.findIndex((l) => l.includes('threshold 0.1 -'));
    expect(lines[mark - 1]).toMatch(/^0\.08-0\.10 \|#+ *\| 1$/);
    expect(lines[mark + 1]).toMatch(/^0\.10-0\.12 \| *\| 0$/);
  });

  test('--validator UID and all validators', async () => {
    const v = (await json(['--validator', '57'])).validators;
    expect(v).toHaveLength(1);
    // A1 (.8, 60 s) A2 (0, 90 s) A4 (.6, 50 s) A8 (0, 5 s): accepted 2 of 4
    expect(v[0]).toMatchObject({ validator_uid: 57, records: 4, feedback_received: 4, accepted: 2, acceptance_rate: 0.5 });
    expect(v[0].score).toMatchObject({ n: 4, p50: 0, max: 0.8 });
    expect(v[0].score.mean).toBeCloseTo(1.4 / 4, 12);
    expect(v[0].feedback_delay_seconds).toMatchObject({ n: 4, p50: 50, p90: 90, mean: 51.25 }); // (5+50+60+90)/4
    const all = (await json(['--validator'])).validators;
    // 49: A3 A5 B2 (2 of 3); 57: 2 of 4; 142: A7 B1 (1 of 2); unknown: B3 (no feedback)
    expect(all.map((x: { validator_uid: number | null; records: number; accepted: number; acceptance_rate: number | null }) => [x.validator_uid, x.records, x.accepted, x.acceptance_rate])).toEqual([
      [49, 3, 2, 2 / 3],
      [57, 4, 2, 0.5],
      [142, 2, 1, 0.5],
      [null, 1, 0, null],
    ]);
    expect(all[0].feedback_delay_seconds).toMatchObject({ p50: 65 }); // 30 65 70
    const text = (await run(runAnalyze, ['--validator', '--last-days', '30'])).out;
    expect(text).toMatch(/^142\s+1\s+1\s+1\s+100\.0%/m); // last 30 days: only A7 for 142
  });

  test('--group-by host', async () => {
    const g = (await json(['--group-by', 'host'])).groups;
    expect(Object.keys(g)).toEqual(['box-a', 'box-b']);
    expect([g['box-a'].summary.records, g['box-a'].summary.accepted, g['box-a'].summary.feedback_received]).toEqual([7, 4, 7]);
    expect([g['box-b'].summary.records, g['box-b'].summary.accepted, g['box-b'].summary.feedback_received]).toEqual([3, 1, 2]);
    const text = (await run(runAnalyze, ['--group-by', 'host'])).out;
    expect(text).toMatch(/acceptance rate\s+57\.1%\s+50\.0%/); // 4/7, 1/2
  });
});

describe('export', () => {
  const out = (): string => path.join(fleet.root, 'training', 'out.jsonl');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const lines = (): any[] => fs.readFileSync(out(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  test('--min-score 0.5: records with absolute paths, missing files reported and kept', async () => {
    const r = await run(runExport, ['--min-score', '0.5', '--output', out(), '--json']);
    const s = JSON.parse(r.out);
    // A1 .8, A5 .7, A4 .6, A7 .9, B2 .75, in file order (A's files, then B's)
    expect(lines().map((l) => l.metadata.generation_id)).toEqual([1, 5, 4, 7, 12].map(uuid));
    expect(s.selected).toBe(5);
    expect(s.written).toBe(5);
    expect(s.by_task_type).toEqual({ 'TEXT-TO-3D': 3, 'IMAGE-TO-3D': 2 });
    expect(s.score).toEqual({ min: 0.6, max: 0.9 });
    // A5: image and PLY not on disk; A4: no PLY at all
    expect(s.missing_files).toMatchObject({ records: 2, image: 1, ply: 2, dropped: 0 });
    const b2 = lines()[4];
    expect(b2.export.image_path).toBe(path.join(fleet.b, b2.task.image_file_path));
    expect(b2.export.ply_path).toBe(path.join(fleet.b, b2.generation.output.ply_file_path));
    expect(b2.export.missing).toEqual([]);
    expect(lines()[1].export).toEqual({ data_dir: fleet.a, image_path: null, ply_path: null, output_path: null, missing: ['image', 'ply'] });
    expect(lines()[2].provenance.revision).toBe(1); // the latest revision of A4
    expect(fs.existsSync(`${out()}.tmp`)).toBe(false);
  });

  test('--require-files drops records whose files are missing', async () => {
    const r = await run(runExport, ['--min-score', '0.5', '--require-files', '--output', out(), '--json']);
    const s = JSON.parse(r.out);
    expect(lines().map((l) => l.metadata.generation_id)).toEqual([1, 7, 12].map(uuid));
    expect([s.selected, s.written, s.missing_files.dropped]).toEqual([5, 3, 2]);
  });

  test("the spec's IMAGE-TO-3D example, text summary", async () => {
    const r = await run(runExport, ['--task-type', 'IMAGE-TO-3D', '--min-score', '0.7', '--min-clip', '0.18', '--output', out()]);
    expect(lines().map((l) => l.metadata.generation_id)).toEqual([5, 12].map(uuid)); // A5 (.7, .2), B2 (.75, .22)
    expect(r.out).toContain('Exported 2 of 2 selected records');
    expect(r.out).toContain('Score range: 0.7 - 0.75');
    expect(r.err).toContain('Corrupt lines skipped: 1');
  });

  test('--output is required', async () => {
    await expect(run(runExport, ['--min-score', '0.5'])).rejects.toThrow(UsageError);
  });
});
