/**
 * docs/duckdb.md, run as written: real logs ingested into a three-host fleet (one with a torn tail set
 * aside and a superseded record, one rotated into a gzip archive, one with a second revision; every one
 * with its id index), then the docs' view and example queries in real DuckDB, with the docs' own glob,
 * must give exactly what `analyze` gives.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { runIngest } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig } from '../../src/config';
import { runRotation } from '../../src/sinks/rotation';
import { analyze, loadDataset, type Analysis } from '../../src/query';
import type { GenerationRecord } from '../../src/schema';

const SAMPLES = path.resolve(__dirname, '../fixtures/pm2-samples');
const DOC = path.resolve(__dirname, '../../docs/duckdb.md');
const DOC_GLOB = "'data/**/generation_history*.jsonl*'";
const APP = 'miner-sn17-mainnet';

/** The ```sql blocks of the docs, by their first line's marker (`-- view: x` / `-- query: x`). */
function sqlBlocks(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of fs.readFileSync(DOC, 'utf8').matchAll(/```sql\n(-- (?:view|query): ([^\n]+)\n[\s\S]*?)```/g)) out.set(m[2]!.trim(), m[1]!);
  return out;
}

/** The view's SQL with the docs' glob's `data/` pointed at `prefix` (a data dir, or `fleet/*`). */
function viewSql(prefix: string): string {
  const sql = sqlBlocks().get('generations');
  expect(sql).toBeDefined();
  expect(sql!.split(DOC_GLOB)).toHaveLength(2); // the glob appears once, as the docs show it
  return sql!.replace(DOC_GLOB, `'${prefix}/**/generation_history*.jsonl*'`);
}

const line = (day: string, t: string, msg: string) => `2025-11-${day} 21:30:${t} |      DEBUG       | bittensor:workers.py:87 | ${msg}\n`;

async function ingest(dataDir: string, host: string, miner: string[], workers: string[] = []) {
  const config = { ...defaultConfig(), dataDir, timeZone: 'UTC' };
  return runIngest({ config, streams: explicitStreams(miner, workers, APP), minerApp: APP, host });
}

async function ingestSample(dataDir: string, host: string, mode: string) {
  const d = path.join(SAMPLES, mode);
  const workers = ['gen-worker-1', 'gen-worker-2'].flatMap((w) => [path.join(d, `${w}-out.log`), path.join(d, `${w}-error.log`)]);
  const config = { ...defaultConfig(), dataDir, timeZone: 'UTC' };
  const streams = explicitStreams([path.join(d, `${APP}-out.log`), path.join(d, `${APP}-error.log`)], workers, null);
  const s = await runIngest({ config, streams, minerApp: APP, host });
  expect(s.records).toBe(6);
}

function linesOf(dataDir: string): GenerationRecord[] {
  const text = fs.readFileSync(path.join(dataDir, 'generation_history.jsonl'), 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as GenerationRecord);
}

function files(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

let root: string;
let fleet: string;
let hosts: Record<'a' | 'b' | 'c', string>;
let db: DuckDBInstance;
let con: DuckDBConnection;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-duckdb-'));
  fleet = path.join(root, 'fleet');
  hosts = { a: path.join(fleet, 'gpu-a'), b: path.join(fleet, 'gpu-b'), c: path.join(fleet, 'gpu-c') };
  const logs = path.join(root, 'logs');
  fs.mkdirSync(logs);

  // gpu-a: the plain sample; then a torn tail, set aside by the next write; then a feedback-only
  // record, superseded once the task's beginning is read (test/pipeline/supersede.test.ts)
  await ingestSample(hosts.a, 'gpu-a', 'pm2-plain');
  fs.appendFileSync(path.join(hosts.a, 'generation_history.jsonl'), '{"metadata":{"generation_id":"torn');
  const older = path.join(logs, 'a-out__2025-11-12_21-30-50.log');
  const newer = path.join(logs, 'a-out.log');
  fs.writeFileSync(
    older,
    line('12', '45.100', 'Querying task from [57]. Stake: 1.0') +
      line('12', '45.200', 'Task received. Prompt: a red chair.') +
      line('12', '45.300', 'Generating for prompt: a red chair with timeout None seconds') +
      line('12', '50.000', 'Generation completed. Size: 1234'),
  );
  fs.writeFileSync(newer, line('12', '59.000', 'Feedback received from [57]. Score: 0.8. (a red chair)') + line('12', '59.010', 'Average score: 0.6. Accepted results (last 4h): 1. Reward: 0.01.'));
  expect((await ingest(hosts.a, 'gpu-a', [newer])).records).toBe(1);
  expect((await ingest(hosts.a, 'gpu-a', [older, newer])).records).toBe(1);

  // gpu-b: the JSON sample, rotated: sealed, gzipped and archived; an empty live file stays
  await ingestSample(hosts.b, 'gpu-b', 'pm2-json');
  await runRotation({ dataDir: hosts.b, nowMs: Date.UTC(2026, 6, 1), gzipAfterMonths: 3, archiveAfterMonths: 6 });

  // gpu-c: the date-prefix sample; then a failed generation whose feedback a second ingest reads: revision 1
  await ingestSample(hosts.c, 'gpu-c', 'pm2-date-prefix');
  const grow = path.join(logs, 'c-out.log');
  fs.writeFileSync(
    grow,
    line('14', '39.500', 'Querying task from [58]. Stake: 1000.0') +
      line('14', '40.000', 'Task received. Prompt: a blue lamp.') +
      line('14', '40.100', 'Generating for prompt: a blue lamp with timeout None seconds') +
      line('14', '50.000', 'Generation failed with code: 500'),
  );
  expect((await ingest(hosts.c, 'gpu-c', [grow])).records).toBe(1);
  fs.appendFileSync(grow, line('14', '58.000', 'Feedback received from [58]. Score: 0.0. (a blue lamp)'));
  expect((await ingest(hosts.c, 'gpu-c', [grow])).records).toBe(1);

  db = await DuckDBInstance.create(':memory:');
  con = await db.connect();
}, 120000);

afterAll(() => {
  con?.closeSync();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Rows as plain objects, BIGINTs as numbers. */
async function rows(sql: string): Promise<Record<string, unknown>[]> {
  const r = await con.runAndReadAll(sql);
  return r.getRowObjects().map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
}

async function analysisOf(dirs: string[]): Promise<Analysis> {
  const ds = await loadDataset({ dataDirs: dirs, threads: 0 });
  return analyze(ds, ds.keep);
}

/** Totals from the view in the shape of analyze's summary counts. */
async function viewTotals(): Promise<{ records: number; feedback_received: number; accepted: number; acceptance_rate: number | null; by_outcome: Record<string, number> }> {
  const [t] = await rows(`SELECT count(*) AS records,
      count(*) FILTER (validator_feedback.received) AS feedback_received,
      count(*) FILTER (outcome = 'accepted') AS accepted
    FROM generations`);
  const byOutcome = await rows('SELECT outcome, count(*) AS n FROM generations GROUP BY ALL');
  const records = t!.records as number;
  const received = t!.feedback_received as number;
  const accepted = t!.accepted as number;
  return {
    records,
    feedback_received: received,
    accepted,
    acceptance_rate: received ? accepted / received : null,
    by_outcome: Object.fromEntries(byOutcome.map((r) => [r.outcome as string, r.n as number])),
  };
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

describe('the fleet is what the test means it to be', () => {
  it('has a torn tail set aside, a superseded record, a second revision, an archive, and id indexes', () => {
    const a = files(hosts.a);
    expect(a.filter((f) => f.startsWith('set-aside/'))).toHaveLength(1);
    expect(linesOf(hosts.a).some((r) => r.provenance.supersedes.length === 1)).toBe(true);
    expect(linesOf(hosts.c).map((r) => r.provenance.revision)).toContain(1);
    const b = files(hosts.b);
    expect(b).toContain('generation_history.jsonl');
    expect(b.filter((f) => /^archive\/generation_history_\d{4}-\d{2}\.jsonl\.gz$/.test(f))).toHaveLength(1);
    expect(fs.statSync(path.join(hosts.b, 'generation_history.jsonl')).size).toBe(0);
    for (const d of Object.values(hosts)) expect(files(d).filter((f) => /^state\/index\/.+\.idx$/.test(f)).length).toBeGreaterThan(0);
  });
});

describe('the docs view in DuckDB equals analyze', () => {
  it('over the fleet (fleet/*/**/...): total records, per outcome, feedback, acceptance', async () => {
    await con.run(viewSql(`${fleet}/*`));
    const want = (await analysisOf(Object.values(hosts))).summary;
    const got = await viewTotals();
    // 6 sample tasks per host, the superseding record on gpu-a, the revised one on gpu-c
    expect(got.records).toBe(20);
    expect(got).toEqual({
      records: want.records,
      feedback_received: want.feedback_received,
      accepted: want.accepted,
      acceptance_rate: want.acceptance_rate,
      by_outcome: nonZero(want.by_outcome),
    });
    // every host is there
    expect(await rows('SELECT metadata.host AS host, count(*) AS n FROM generations GROUP BY ALL ORDER BY host')).toEqual([
      { host: 'gpu-a', n: 7 },
      { host: 'gpu-b', n: 6 },
      { host: 'gpu-c', n: 7 },
    ]);
    // raw lines are more: the superseded record and revision 0 are dropped
    const [raw] = await rows(`SELECT count(*) AS n FROM read_ndjson('${fleet}/*/**/generation_history*.jsonl*', union_by_name = true)`);
    expect(raw!.n).toBe(22);
  });

  it('over each data dir alone (data/**/...)', async () => {
    for (const [host, dir] of Object.entries(hosts)) {
      await con.run(viewSql(dir));
      const want = (await analysisOf([dir])).summary;
      const got = await viewTotals();
      expect({ host, ...got }).toEqual({
        host,
        records: want.records,
        feedback_received: want.feedback_received,
        accepted: want.accepted,
        acceptance_rate: want.acceptance_rate,
        by_outcome: nonZero(want.by_outcome),
      });
    }
  });

  it('the example queries give analyze\'s acceptance by task type, by validator, and failures by error type', async () => {
    await con.run(viewSql(`${fleet}/*`));
    const a = await analysisOf(Object.values(hosts));
    const q = sqlBlocks();
    expect([...q.keys()]).toEqual(['generations', 'acceptance by task type', 'acceptance by validator', 'failures by error type', 'outcomes by host and day']);
    const round4 = (x: number | null) => (x === null ? null : Math.round(x * 1e4) / 1e4);

    const byTask = await rows(q.get('acceptance by task type')!);
    expect(byTask.map((r) => ({ ...r, task_type: r.task_type ?? 'unknown' }))).toEqual(
      [...a.acceptance.by_task_type]
        .sort((x, y) => (x.task_type === 'unknown' ? 1 : y.task_type === 'unknown' ? -1 : x.task_type.localeCompare(y.task_type)))
        .map((t) => ({ task_type: t.task_type, generations: t.records, feedback: t.feedback_received, accepted: t.accepted, acceptance_rate: round4(t.acceptance_rate) })),
    );

    const byValidator = await rows(q.get('acceptance by validator')!);
    expect(byValidator.map(({ mean_score: _m, ...r }) => r)).toEqual(
      [...a.validators]
        .sort((x, y) => (x.validator_uid ?? Infinity) - (y.validator_uid ?? Infinity))
        .map((v) => ({ validator_uid: v.validator_uid, generations: v.records, feedback: v.feedback_received, accepted: v.accepted, acceptance_rate: round4(v.acceptance_rate) })),
    );
    expect(byValidator.length).toBeGreaterThan(1);

    const failures = await rows(q.get('failures by error type')!);
    expect(failures.map((r) => [r.error_type, r.failures])).toEqual(
      [...a.failures.by_type].sort((x, y) => y.count - x.count || x.error_type.localeCompare(y.error_type)).map((f) => [f.error_type, f.count]),
    );
    expect(a.failures.failed).toBeGreaterThan(0);

    const byHostDay = await rows(q.get('outcomes by host and day')!);
    expect(byHostDay.reduce((s, r) => s + (r.generations as number), 0)).toBe(a.summary.records);
  });
});
