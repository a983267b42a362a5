/** What the end-to-end tests share: the collector's PM2 app, its config, waiting, reading its records. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Pm2App, Pm2Harness } from '../harness/pm2-harness';
import type { TruthLine } from '../fixtures/fake-miner/truth';
import { expectFaithful, latest, readRecords, utcOf } from '../helpers/truth-match';
import { statusReport } from '../../src/cli/status';
import type { GenerationRecord } from '../../src/schema';

const ROOT = path.resolve(__dirname, '../..');

/** The collector's app as ecosystem.config.js defines it, pointed at a test config. */
export function collectorApp(h: Pm2Harness, configFile: string, env: Record<string, string> = {}): Pm2App {
  const eco = require(path.join(ROOT, 'ecosystem.config.js')) as { apps: Pm2App[] };
  const app = eco.apps[0]!;
  return h.app(
    {
      ...app,
      script: path.join(ROOT, app.script as string),
      env: { ...(app.env as object), DC_CONFIG: configFile, DC_STATUS_EVERY_MS: '2000', ...env },
    } as Pm2App,
    false,
  );
}

/** Where the fake workers write their PLYs (plan `plyOutput`). */
export const outputDirOf = (h: Pm2Harness, app: string): string => path.join(h.runDir, 'outputs', app);

export function writeConfig(h: Pm2Harness, dataDir: string, feedbackTimeoutMinutes = 1): string {
  const plan = h.plan;
  const file = path.join(dataDir, '..', 'collector.config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      dataDir,
      miner: { pm2App: plan.minerApp },
      workers: plan.endpoints.map((e) => ({
        name: e.workerApp,
        pm2App: e.workerApp,
        endpoint: e.url,
        outputDir: e.plyOutput ? outputDirOf(h, e.workerApp) : null,
      })),
      timeZone: 'UTC',
      // endpoint 0 runs the operator's custom worker of the reference: its documented rules
      rulesFile: path.join(ROOT, 'examples', 'rules.custom-worker.json'),
      // the fakes' clock runs 25x here: feedback comes within ~30 virtual seconds (cooldowns included)
      feedbackTimeoutMinutes,
      // and the miner's lag behind its workers with it: 10 s of the fakes' time is 0.4 s of a busy machine's
      maxAnswerLagSeconds: 120,
    }),
  );
  return file;
}

/**
 * How long the end of a run may take to be recorded: once the miner stops writing, log time runs at
 * the wall clock's pace, so a task still open waits out its feedback timeout (1 minute) or the
 * attribution window (2 minutes of log time) in real time, on a machine that may be loaded.
 */
export const END_OF_RUN_MS = 200_000;

export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The collector has read every followed file to its end and committed that. */
/**
 * The collector has committed every complete line of every followed file. A line without its newline
 * (a process stopped while PM2 wrote a long line) is not a line yet: nothing may be committed past it.
 */
export function caughtUp(dataDir: string): boolean {
  const s = statusReport(dataDir);
  return s.files.length > 0 && s.files.every((f) => f.behindBytes === 0 || f.size === null || !restHasNewline(f.path, f.offset));
}

function restHasNewline(file: string, offset: number): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.max(0, fs.fstatSync(fd).size - offset));
    fs.readSync(fd, buf, 0, buf.length, offset);
    return buf.includes(10);
  } finally {
    fs.closeSync(fd);
  }
}

export function recordsOf(dataDir: string): GenerationRecord[] {
  return fs.existsSync(path.join(dataDir, 'generation_history.jsonl')) ? latest(readRecords(dataDir)) : [];
}

export function expectOneRecordPerTask(truth: TruthLine[], records: GenerationRecord[]): void {
  // the daemon waits out every feedback timeout: no task is cut off by the end of the input
  const lastTasks = new Set<number>();
  for (const t of truth) {
    const matches = records.filter((r) => r.task.log_id === t.log_id && r.metadata.timestamp === utcOf(t.received_time_text!, t.utc_offset_minutes));
    expect({ task: t.index, matches: matches.length }).toEqual({ task: t.index, matches: 1 });
    expectFaithful(t, matches[0]!, lastTasks);
  }
  expect(records).toHaveLength(truth.length);
  const ids = records.map((r) => r.metadata.generation_id);
  expect(new Set(ids).size).toBe(ids.length);
}

