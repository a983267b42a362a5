/**
 * Attribution, by model: random schedules of N concurrent endpoints (test/assemble/schedule.ts: the
 * miner's and the workers' real lines, with the ground truth of every task) go through the real
 * pipeline stages (one StreamParser per stream, the event-time merge, the Tracker as `ingest` feeds
 * it: tick at each event's time then push; at the end a tick past the feedback timeout, finishAll),
 * and every record is checked against the truth. Check ids:
 *   (a) a.one-record: exactly one record per task (matched by task.log_id + metadata.timestamp);
 *       a.no-extra: no record of anything that is not a task; a.schema: every record valid.
 *   (b) no record contradicts itself: b.accepted-and-failed (validator_feedback.accepted with
 *       failure_analysis.failed); b.outcome (accepted <-> outcome accepted, rejected/generation_failed
 *       against failed); b.end-link (the end its links name is the end its failure fields describe);
 *       b.end-not-seen (a record that says its end was not seen has no end link).
 *   (c) every field whose link is asserted (a provenance link that is not `inferred`: `named` or
 *       `determined`) equals the truth: c.end-kind (the end event, failed/error_type),
 *       c.size (file_size_bytes), c.total-time (generating -> end), c.submit (a submit failure is
 *       that task's, submitted=false), c.worker (generation/saving time when every worker link is
 *       asserted), c.end-without-end (no asserted end for a task cut before its end), c.end-links (at
 *       most one end link).
 *   (d) the share of records whose end link is inferred, per N and with/without worker logs, printed
 *       in afterAll with what the schedules covered.
 *
 * The merge is src/assemble/merge.ts's EventMerger, as `ingest` uses it: the miner's stream registered
 * first (it wins ties), every stream fully parsed and idle, drained in header-time order; a stream's
 * own order is kept.
 *
 * Every check is asserted except the known residue (KNOWN_FAILING_TODAY): it is recorded, printed
 * with a minimal failing schedule each, and asserted only when ATTRIBUTION_STRICT asks for it (`1`: all; else a comma-separated list of check ids or
 * prefixes, e.g. `c.size,b`). A failing run is shrunk by fast-check, then delta-debugged (a task, an
 * endpoint, the restart... less at a time) and its lines and truth are printed.
 * ATTRIBUTION_RUNS overrides the number of schedules (500, about 2 min with the tick property; 1000 or 3000
 * for a closer look before changing the attribution: 1,000 found a fault 300 did not). ATTRIBUTION_PATH
 * replays one counterexample of the late-lines, restart and tick properties (the `path` fast-check printed).
 */
import fc from 'fast-check';
import {
  createHashers,
  DEFAULT_TRACKER_OPTIONS,
  EventMerger,
  GENERATION_END_EVENTS as END_EVENTS,
  GENERATION_FAILURE_TYPES as GENERATION_FAILURES,
  Tracker,
  type Hashers,
} from '../../src/assemble';
import type { LogEvent } from '../../src/parse';
import { GenerationRecordSchema, type GenerationRecord } from '../../src/schema';
import { DEFAULTS, MINER, parseLines } from '../parse/helpers';
import { buildSchedule, describeSchedule, planArb, smallerPlans, type EndKind, type Plan, type Schedule, type TaskTruth } from './schedule';

// ---- switches ----

/**
 * Checks recorded and printed but not asserted unless ATTRIBUTION_STRICT names them: none (1000
 * schedules pass every check). A check that fails where the logs cannot decide goes here, with why.
 */
const KNOWN_FAILING_TODAY: string[] = [];
const STRICT = (process.env.ATTRIBUTION_STRICT ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const asserted = (check: string): boolean =>
  !KNOWN_FAILING_TODAY.includes(check) || STRICT.includes('1') || STRICT.some((p) => check === p || check.startsWith(`${p}.`));

const SEED = 20251112;
const RUNS = Number(process.env.ATTRIBUTION_RUNS ?? 500);

// ---- running the pipeline stages ----

let hashers: Hashers;
beforeAll(async () => {
  hashers = await createHashers();
});

/**
 * `tickEveryMs`: also tick at that step between events, as the daemon's clock does; `solveEveryTick`:
 * make each of those ticks solve the window (an unchanged settings update counts as a change), as
 * before ticks skipped solves that could settle nothing new; `restartEveryBatch`: at the end of each
 * batch, go on in a new tracker restored from a JSON round trip of the snapshot, as the daemon does
 * after a restart (the records written before it are kept); `workerLagMs`: each worker line is handed
 * on after the miner's lines of up to this much later (a line PM2 wrote late), to a tracker that takes
 * worker lines to be that late (the daemon's).
 */
function runTracker(s: Schedule, o: { tickEveryMs?: number; solveEveryTick?: boolean; restartEveryBatch?: boolean; workerLagMs?: number } = {}): GenerationRecord[] {
  const merger = new EventMerger<LogEvent>();
  s.streams.forEach((_, i) => merger.addSource(String(i)));
  s.streams.forEach((st, i) => {
    for (const e of parseLines(st.lines, st.spec, DEFAULTS, 'UTC').events) merger.push(String(i), e);
    merger.setIdle(String(i), true);
  });
  const newTracker = () => new Tracker(
    {
      ...DEFAULT_TRACKER_OPTIONS,
      minerApp: MINER.app,
      host: 'test-host',
      collectorVersion: '0.0.0-test',
      endpoints: s.endpointsOption,
      validatorHotkeys: s.validatorHotkeys,
      workerGroups: [...new Set(s.streams.filter((st) => st.spec.role === 'worker').map((st) => st.spec.group))],
      workerLinesLateMs: o.workerLagMs ?? 0,
    },
    hashers,
    () => ({ skipped: 'disabled' }),
  );
  let tracker = newTracker();
  const written: GenerationRecord[] = [];
  // ingest hands events on in batches (one read each), solving the window at each batch's end:
  // batches of 1-40 events, their sizes drawn from the schedule
  let left = 0;
  let draw = s.lastMs % 9973;
  let tickedMs: number | null = null;
  // the daemon may read a worker's line after miner lines written later (PM2 relays each app's output)
  const lag = o.workerLagMs ?? 0;
  const drained = [...merger.drain()]
    .map((e, i) => ({ e, i, readMs: e.timeMs + (e.spec.role === 'worker' ? lag : 0) }))
    .sort((a, b) => a.readMs - b.readMs || a.i - b.i)
    .map((x) => x.e);
  for (const e of drained) {
    if (left === 0) {
      tracker.deferAttribution(false);
      if (o.restartEveryBatch) {
        written.push(...tracker.drainRecords().map((f) => f.record));
        const snap = JSON.parse(JSON.stringify(tracker.snapshot())) as ReturnType<Tracker['snapshot']>;
        tracker = newTracker();
        tracker.restore(snap);
      }
      tracker.deferAttribution(true);
      draw = (draw * 7919 + 13) % 9973;
      left = 1 + (draw % 40);
    }
    left--;
    if (o.tickEveryMs) {
      for (let at = (tickedMs ?? e.timeMs) + o.tickEveryMs; at < e.timeMs; at += o.tickEveryMs) {
        if (o.solveEveryTick) tracker.setMinerSettings({});
        tracker.tick(at);
      }
      tickedMs = Math.max(tickedMs ?? e.timeMs, e.timeMs);
    }
    tracker.tick(e.timeMs);
    tracker.push(e);
  }
  tracker.deferAttribution(false);
  if (merger.held) throw new Error(`the merge held ${merger.held} events back`);
  tracker.tick(s.lastMs + DEFAULT_TRACKER_OPTIONS.feedbackTimeoutMs + 1);
  tracker.finishAll('input_ended');
  // a generation written again (its feedback came after it was written) counts as its latest version,
  // as the store keeps it (the next revision)
  const latest = new Map<string, GenerationRecord>();
  for (const r of [...written, ...tracker.drainRecords().map((f) => f.record)]) latest.set(r.metadata.generation_id, r);
  return [...latest.values()];
}

// ---- the checks ----

interface Violation {
  check: string;
  message: string;
}

const END_EVENT: Record<EndKind, string> = {
  completed: 'generation_completed',
  http_error: 'generation_failed',
  unreachable: 'endpoint_unreachable',
  timeout: 'endpoint_timeout',
  client_error: 'client_error',
};
const END_ERROR: Record<Exclude<EndKind, 'completed'>, string> = {
  http_error: 'generation_http_error',
  unreachable: 'endpoint_unreachable',
  timeout: 'endpoint_timeout',
  client_error: 'client_error',
};
/** The error_type a failure end event gives (the schedules have no tracebacks and no worker rejections). */
const LINK_ERROR: Record<string, string> = Object.fromEntries(
  (Object.keys(END_ERROR) as (keyof typeof END_ERROR)[]).map((k) => [END_EVENT[k], END_ERROR[k]]),
);

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const isAsserted = (link: string): boolean => link !== 'inferred';

function summary(r: GenerationRecord): string {
  const fa = r.failure_analysis;
  const fb = r.validator_feedback;
  return (
    `record ${JSON.stringify(r.task.log_id)} @${r.metadata.timestamp}: outcome=${r.outcome} failed=${fa.failed} error_type=${fa.error_type} ` +
    `accepted=${fb.accepted} score=${fb.score} submitted=${r.generation.submission.submitted} size=${r.generation.output.file_size_bytes} ` +
    `total_time=${r.generation.timing.total_time} gen/save=${String(r.generation.timing.generation_time)}/${String(r.generation.timing.saving_time)} ` +
    `links=[${r.provenance.links.map((l) => `${l.event}:${l.link}:${l.candidates}`).join(' ')}] incomplete=[${r.provenance.incomplete_reasons.join(' ')}]`
  );
}

function truthLine(t: TaskTruth): string {
  return `task #${t.index} on ${t.group}: end=${t.end ?? `cut(${t.plannedEnd})`} size=${t.sizeBytes} then=${t.submit ?? 'cut'} score=${t.score}${t.interrupted ? ' interrupted' : ''}`;
}

/** (b): the record against itself. */
function checkConsistency(r: GenerationRecord, out: Violation[]): void {
  const failed = r.failure_analysis.failed;
  const accepted = r.validator_feedback.accepted;
  const v = (check: string, what: string) => out.push({ check, message: `${what}: ${summary(r)}` });
  if (accepted === true && failed) v('b.accepted-and-failed', 'accepted and failed at once');
  if ((accepted === true) !== (r.outcome === 'accepted')) v('b.outcome', 'accepted <-> outcome accepted');
  if (r.outcome === 'rejected' && (accepted !== false || failed)) v('b.outcome', 'rejected without accepted=false, or failed');
  if (r.outcome === 'generation_failed' && !failed) v('b.outcome', 'generation_failed without failed');
  if (failed && ['accepted', 'rejected', 'no_feedback'].includes(r.outcome)) v('b.outcome', `failed but outcome ${r.outcome}`);
  // the end the links name (asserted or not) is the end the fields describe
  const end = r.provenance.links.filter((l) => END_EVENTS.has(l.event)).at(-1);
  const errorType = r.failure_analysis.error_type;
  if (end?.event === 'generation_completed' && errorType !== null && GENERATION_FAILURES.has(errorType))
    v('b.end-link', `end link generation_completed but error_type ${errorType}`);
  if (end && r.provenance.incomplete_reasons.includes('generation_end_not_seen')) v('b.end-not-seen', `end link ${end.event} but its end not seen`);
  const wantError = end ? LINK_ERROR[end.event] : undefined;
  if (wantError && errorType !== wantError) v('b.end-link', `end link ${end!.event} but error_type ${errorType}`);
}

/** (c): every field an asserted link set, against the truth. */
function checkAssertedFields(r: GenerationRecord, t: TaskTruth, out: Violation[]): void {
  const v = (check: string, what: string) => out.push({ check, message: `${what}\n    ${summary(r)}\n    truth: ${truthLine(t)}` });
  const links = r.provenance.links;
  const ends = links.filter((l) => END_EVENTS.has(l.event));
  if (ends.length > 1) v('c.end-links', `${ends.length} end links`);
  const end = ends[ends.length - 1];
  if (end && isAsserted(end.link)) {
    if (t.end === null) v('c.end-without-end', `asserted end ${end.event} (${end.link}) for a task whose generation never ended in the logs`);
    else {
      const fa = r.failure_analysis;
      if (end.event !== END_EVENT[t.end]) v('c.end-kind', `asserted end ${end.event} (${end.link}), truth ${END_EVENT[t.end]}`);
      else if (t.end !== 'completed' && (!fa.failed || fa.error_type !== END_ERROR[t.end]))
        v('c.end-kind', `failure_analysis ${fa.failed}/${fa.error_type}, truth ${END_ERROR[t.end]}`);
      else if (t.end === 'completed' && fa.error_type !== null && GENERATION_FAILURES.has(fa.error_type))
        v('c.end-kind', `error_type ${fa.error_type} for a completed generation`);
      const size = r.generation.output.file_size_bytes;
      if (size !== t.sizeBytes) v('c.size', `file_size_bytes ${size}, truth ${t.sizeBytes}`);
      const want = t.generatingMs === null ? null : round3((t.endMs! - t.generatingMs) / 1000);
      if (want !== null && r.generation.timing.total_time !== want) v('c.total-time', `total_time ${r.generation.timing.total_time}, truth ${want}`);
    }
  }
  for (const l of links.filter((x) => x.event === 'submit_failed' && isAsserted(x.link))) {
    if (t.submit !== 'submit_failed') v('c.submit', `asserted submit failure (${l.link}), truth: ${t.submit ?? 'cut'}`);
    else if (r.generation.submission.submitted !== false) v('c.submit', `submit failure but submitted=${r.generation.submission.submitted}`);
  }
  const worker = links.filter((l) => l.event === 'worker_metrics');
  if (worker.length && worker.every((l) => isAsserted(l.link))) {
    const timing = r.generation.timing;
    const w = t.worker;
    const fields: [string, number | null | undefined, number | null][] = [
      ['generation_time', timing.generation_time as number | null | undefined, w && w.generationLogged ? w.generationS : null],
      ['saving_time', timing.saving_time as number | null | undefined, w && w.savingLogged ? w.savingS : null],
    ];
    for (const [name, got, want] of fields)
      if (got !== null && got !== undefined && got !== want) v('c.worker', `${name} ${got} (worker lines linked ${worker.map((l) => l.link).join('/')}), truth ${want}`);
  }
}

/** A record and its truth task meet by log id and received time (the record's timestamp). */
const key = (logId: string | null, ms: number) => `${logId}@${ms}`;
const recordKey = (r: GenerationRecord) => key(r.task.log_id, Date.parse(r.metadata.timestamp));

function check(s: Schedule, records: GenerationRecord[]): Violation[] {
  const out: Violation[] = [];
  const byKey = new Map<string, GenerationRecord[]>();
  for (const r of records) {
    const parsed = GenerationRecordSchema.safeParse(r);
    if (!parsed.success) out.push({ check: 'a.schema', message: `${parsed.error.message}: ${summary(r)}` });
    const k = recordKey(r);
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  const tasks = s.tasks.filter((t) => t.receivedMs !== null);
  const taskKeys = new Set(tasks.map((t) => key(t.logId, t.receivedMs!)));
  for (const r of records)
    if (!taskKeys.has(recordKey(r))) out.push({ check: 'a.no-extra', message: `a record of no task: ${summary(r)}` });
  for (const t of tasks) {
    const found = byKey.get(key(t.logId, t.receivedMs!)) ?? [];
    if (found.length !== 1) {
      out.push({ check: 'a.one-record', message: `${found.length} records for ${truthLine(t)}` });
      continue;
    }
    checkConsistency(found[0]!, out);
    checkAssertedFields(found[0]!, t, out);
  }
  return out;
}

// ---- (d) and the soft checks' record ----

interface Share {
  records: number;
  withEnd: number;
  inferred: number;
  /** Inferred end links whose end (kind and size) is the task's own: the best fit's accuracy. */
  inferredRight: number;
}
const shares = new Map<string, Share>();
/** What the schedules covered (tasks by what happened to them). */
const coverage = new Map<string, number>();
const cover = (k: string, by = 1) => coverage.set(k, (coverage.get(k) ?? 0) + by);
function countShares(s: Schedule, records: GenerationRecord[]): void {
  if (s.plan.restartAtMs !== null) cover('schedules with a restart');
  cover(`endpoints option ${s.plan.endpoints}`);
  for (const t of s.tasks) {
    if (t.receivedMs === null) continue;
    cover('tasks');
    cover(`end ${t.end ?? 'cut'}`);
    cover(`then ${t.submit ?? 'cut'}`);
    if (t.interrupted) cover('interrupted');
    if (t.worker && (!t.worker.generationLogged || !t.worker.savingLogged)) cover('worker line dropped');
  }
  const k = `N=${s.plan.n} workers=${s.plan.workers === 'present' ? 'yes' : 'no '}`;
  const sh = shares.get(k) ?? { records: 0, withEnd: 0, inferred: 0, inferredRight: 0 };
  const truthOf = new Map(s.tasks.filter((t) => t.receivedMs !== null).map((t) => [key(t.logId, t.receivedMs!), t]));
  for (const r of records) {
    sh.records++;
    const end = r.provenance.links.filter((l) => END_EVENTS.has(l.event)).at(-1);
    if (!end) continue;
    sh.withEnd++;
    if (isAsserted(end.link)) continue;
    sh.inferred++;
    const t = truthOf.get(recordKey(r));
    if (t?.end && end.event === END_EVENT[t.end] && r.generation.output.file_size_bytes === t.sizeBytes) sh.inferredRight++;
  }
  shares.set(k, sh);
}

/** Soft violations: how many runs broke each check, and the smallest plan that did. */
const soft = new Map<string, { runs: number; lines: number; plan: Plan }>();
function recordSoft(s: Schedule, plan: Plan, v: Violation[]): void {
  const lines = lineCount(s);
  for (const check of new Set(v.map((x) => x.check))) {
    const cur = soft.get(check);
    if (!cur) soft.set(check, { runs: 1, lines, plan });
    else {
      cur.runs++;
      if (lines < cur.lines) Object.assign(cur, { lines, plan });
    }
  }
}

let runs = 0;
afterAll(() => {
  const rows = [...shares].sort(([a], [b]) => Number(/N=(\d+)/.exec(a)![1]) - Number(/N=(\d+)/.exec(b)![1]) || a.localeCompare(b));
  const pct = (x: number, of: number) => (of ? `${((100 * x) / of).toFixed(1)}%` : '-');
  const table = rows.map(
    ([k, s]) => `  ${k}: ${s.inferred}/${s.withEnd} end links inferred (${pct(s.inferred, s.withEnd)}), ${pct(s.inferredRight, s.inferred)} of them right, ${s.records} records`,
  );
  const total = [...shares.values()].reduce(
    (a, s) => ({ records: a.records + s.records, withEnd: a.withEnd + s.withEnd, inferred: a.inferred + s.inferred, inferredRight: a.inferredRight + s.inferredRight }),
    { records: 0, withEnd: 0, inferred: 0, inferredRight: 0 },
  );
  const out = [
    `attribution model: ${runs} schedules, share of records whose end link is inferred:`,
    ...table,
    `  all: ${total.inferred}/${total.withEnd} (${pct(total.inferred, total.withEnd)}), ${total.inferredRight} of them right (${pct(total.inferredRight, total.inferred)})`,
    `covered: ${[...coverage].map(([k, n]) => `${k}: ${n}`).join(', ')}`,
  ];
  if (soft.size) {
    out.push(`known residue (not asserted; ATTRIBUTION_STRICT=1 asserts it): ${[...soft].map(([c, x]) => `${c} in ${x.runs} runs`).join(', ')}`);
    for (const [c, x] of soft) {
      const plan = minimize(x.plan, new Set([c]));
      out.push(`--- ${c}, a minimal schedule (${lineCount(buildSchedule(plan))} lines, from ${x.lines}):\n${report(new Set([c]), plan)}`);
    }
  }
  console.log(out.join('\n'));
});

// ---- the property ----

function violationsOf(plan: Plan): { s: Schedule; records: GenerationRecord[]; v: Violation[] } {
  const s = buildSchedule(plan);
  const records = runTracker(s);
  return { s, records, v: check(s, records) };
}

const lineCount = (s: Schedule): number => s.streams.reduce((n, st) => n + st.lines.length, 0);

/**
 * Delta debugging after fast-check's shrinking (which keeps every task): one task, endpoint, restart
 * or worker stream less at a time, while one of `checks` still fails.
 */
function minimize(plan: Plan, checks: Set<string>, budget = 1500): Plan {
  let cur = plan;
  for (;;) {
    const next = smallerPlans(cur).find((p) => budget-- > 0 && violationsOf(p).v.some((x) => checks.has(x.check)));
    if (!next) return cur;
    cur = next;
  }
}

function report(checks: Set<string>, plan: Plan, note = ''): string {
  const { s, v } = violationsOf(plan);
  return `${v.filter((x) => checks.has(x.check)).map((x) => `[${x.check}] ${x.message}`).join('\n')}\n${describeSchedule(s)}${note ? `\n(${note})` : ''}`;
}

/**
 * The best fit's accuracy on the schedules run so far (their truth is known): of the inferred end
 * links, the share whose end is the task's own. A pick at random among the candidates would get at
 * most half right.
 */
function expectBestFitsMostlyRight(): void {
  const sum = (workers: boolean) =>
    [...shares].filter(([k]) => k.endsWith(workers ? 'workers=yes' : 'workers=no ')).reduce((a, [, s]) => ({ inferred: a.inferred + s.inferred, right: a.right + s.inferredRight }), { inferred: 0, right: 0 });
  const withLogs = sum(true);
  const without = sum(false);
  expect(withLogs.inferred).toBeGreaterThan(100);
  expect(without.inferred).toBeGreaterThan(100);
  expect(withLogs.right / withLogs.inferred).toBeGreaterThan(0.85);
  expect(without.right / without.inferred).toBeGreaterThan(0.45);
}

test('attribution: one record per task, no self-contradiction, asserted fields equal the truth, inferred ends mostly right', () => {
  let shrinking = false;
  const details = fc.check(
    fc.property(planArb, (plan) => {
      const { s, records, v } = violationsOf(plan);
      if (!shrinking) {
        runs++;
        countShares(s, records);
      }
      const unasserted = v.filter((x) => !asserted(x.check));
      if (unasserted.length && !shrinking) recordSoft(s, plan, unasserted);
      const hard = v.filter((x) => asserted(x.check));
      shrinking ||= hard.length > 0;
      if (hard.length) throw new Error(hard.map((x) => `[${x.check}] ${x.message}`).join('\n'));
    }),
    { seed: SEED, numRuns: RUNS },
  );
  if (!details.failed) return expectBestFitsMostlyRight();
  const plan = details.counterexample?.[0];
  const hard = new Set(plan ? violationsOf(plan).v.filter((x) => asserted(x.check)).map((x) => x.check) : []);
  if (!plan || !hard.size) throw details.errorInstance instanceof Error ? details.errorInstance : new Error(String(details.errorInstance));
  const before = lineCount(buildSchedule(plan));
  const min = minimize(plan, hard);
  throw new Error(report(hard, min, `seed ${details.seed}; minimized from ${before} to ${lineCount(buildSchedule(min))} lines`));
});

test('worker lines read 3 s late (after miner lines written later), as the daemon allows: every asserted field still right, one record per task', () => {
  fc.assert(
    fc.property(planArb, (plan) => {
      const s = buildSchedule(plan);
      const hard = check(s, runTracker(s, { workerLagMs: 3000 })).filter((x) => asserted(x.check));
      if (hard.length) throw new Error(`${hard.map((x) => `[${x.check}] ${x.message}`).join('\n')}\n${describeSchedule(s)}`);
    }),
    { seed: SEED, numRuns: Math.ceil(RUNS / 2), endOnFailure: true, path: process.env.ATTRIBUTION_PATH },
  );
});

/** Every other schedule as the daemon reads it (worker lines 3 s late, and taken to be): the properties below hold there too. */
const daemonLag = (s: Schedule): number => (s.lastMs % 2 ? 3000 : 0);

test('restarted after every batch, each time restored from the snapshot: the records of one run', () => {
  fc.assert(
    fc.property(planArb, (plan) => {
      const s = buildSchedule(plan);
      const workerLagMs = daemonLag(s);
      expect(runTracker(s, { restartEveryBatch: true, workerLagMs })).toEqual(runTracker(s, { workerLagMs }));
    }),
    { seed: SEED, numRuns: Math.ceil(RUNS / 6), endOnFailure: true, path: process.env.ATTRIBUTION_PATH },
  );
});

test('a tick solves the window again only when that could settle something: the records are those of solving at every tick', () => {
  fc.assert(
    fc.property(planArb, (plan) => {
      const s = buildSchedule(plan);
      const workerLagMs = daemonLag(s);
      const skipping = runTracker(s, { tickEveryMs: 250, workerLagMs });
      expect(runTracker(s, { tickEveryMs: 250, solveEveryTick: true, workerLagMs })).toEqual(skipping);
    }),
    { seed: SEED, numRuns: Math.ceil(RUNS / 6), endOnFailure: true, path: process.env.ATTRIBUTION_PATH },
  );
});
