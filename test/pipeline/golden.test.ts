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
import { parseRecordLine, type GenerationRecord } from '../../src/schema';

type Mode = 'plain' | 'date' | 'json';

function readRecords(dataDir: string): GenerationRecord[] {
  return fs
    .readFileSync(path.join(dataDir, 'generation_history.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => {
      const p = parseRecordLine(l);
      if (!p.ok) throw new Error(p.error);
      return p.record;
    });
}

/** Latest revision per id, superseded ones dropped: what every reader keeps. */
function latest(records: GenerationRecord[]): GenerationRecord[] {
  const byId = new Map<string, GenerationRecord>();
  for (const r of records) {
    const prev = byId.get(r.metadata.generation_id);
    if (!prev || r.provenance.revision > prev.provenance.revision) byId.set(r.metadata.generation_id, r);
  }
  const superseded = new Set([...byId.values()].flatMap((r) => r.provenance.supersedes));
  return [...byId.values()].filter((r) => !superseded.has(r.metadata.generation_id));
}

const utcOf = (text: string, offsetMin: number) => new Date(Date.parse(`${text.replace(' ', 'T')}Z`) - offsetMin * 60000).toISOString();

function inferred(r: GenerationRecord, event: string): boolean {
  return r.provenance.links.some((l) => l.event === event && l.link === 'inferred');
}

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
    const summary = await runIngest({ config, streams, minerApp: plan.minerApp, host: 'golden' });
    return { truth: run.truth, records: latest(readRecords(dataDir)), summary, dataDir };
  } finally {
    await harness.cleanup();
  }
}

function expectFaithful(t: TruthLine, r: GenerationRecord, lastTasks: Set<number>): void {
  const where = `task ${t.index} (${t.outcome}, ${t.error_type}, score ${t.score}, feedback ${t.feedback_format}) -> ${r.outcome} ${JSON.stringify(r.provenance.links)} ${r.provenance.incomplete_reasons}`;
  expect({ where, type: r.task.task_type }).toEqual({ where, type: t.task_type });
  expect(r.task.prompt_length).toBe(t.prompt_length);
  if (t.image) {
    expect(r.task.base64_image_hash).toBe(`sha256:${t.image.sha256}`);
    expect(r.task.image_file_path).toBe(`images/${t.image.sha256}.${t.image.ext}`);
  } else expect(r.task.prompt).toBe(t.prompt);
  expect({ where, uid: r.metadata.validator_uid }).toEqual({ where, uid: t.validator_uid });
  // outcome: a task whose miner restarted is interrupted; no feedback at the very end of the input
  // is also "interrupted" for ingest (its end was not reached), with a reason
  let want: string = t.miner_restarted || t.crashed ? 'interrupted' : t.outcome;
  if (want === 'no_feedback' && r.outcome === 'interrupted' && lastTasks.has(t.index)) want = 'interrupted';
  const ends = ['generation_completed', 'generation_failed', 'endpoint_unreachable', 'endpoint_timeout', 'client_error', 'exception', 'submit_failed'];
  const endInferred = ends.some((ev) => inferred(r, ev));
  if (!endInferred) {
    expect({ where, outcome: r.outcome }).toEqual({ where, outcome: want });
    if (want !== 'interrupted') expect({ where, error: r.failure_analysis.error_type }).toEqual({ where, error: t.error_type });
    if (t.generation_bytes !== null && want !== 'interrupted') expect({ where, bytes: r.generation.output.file_size_bytes }).toEqual({ where, bytes: t.generation_bytes });
  }
  if (t.score !== null && !t.miner_restarted) {
    expect({ where, received: r.validator_feedback.received }).toEqual({ where, received: true });
    expect(r.validator_feedback.score).toBe(t.score === 'failed' ? null : t.score);
    expect(r.validator_feedback.accepted).toBe(t.score === 'failed' ? null : t.score > 0);
    expect(r.generation.submission.submitted).toBe(true);
    if (t.detail) {
      expect(r.validator_feedback.average_score).toBe(t.detail.average_score);
      expect(r.validator_feedback.accepted_recent).toBe(t.detail.accepted_recent);
      expect(r.validator_feedback.accepted_window_hours).toBe(t.detail.accepted_window_hours);
      expect(r.validator_feedback.reward).toBe(t.detail.reward);
      expect(r.validator_feedback.duel_rating).toBe(t.detail.duel_rating);
    }
  }
  if (t.outcome === 'submit_failed' && !endInferred) expect(r.generation.submission.submitted).toBe(false);
  if (r.provenance.links.some((l) => l.link === 'inferred')) {
    for (const l of r.provenance.links) if (l.link === 'inferred') expect(l.candidates).toBeGreaterThan(1);
  }
}

describe.each<Mode>(['plain', 'json'])('golden, PM2 %s mode (lossless)', (mode) => {
  it('every task of the truth has its faithful record, and nothing else', async () => {
    const { truth, records, summary } = await ingestRun(mode);
    expect(summary.invalid).toBe(0);
    expect(truth.length).toBeGreaterThanOrEqual(18);
    const lastTasks = new Set(truth.slice(-3).map((t) => t.index));
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
