/**
 * Competition mode's generations, fed directly (real lines through the real parser, output files as
 * the output-dir source hands them on, facts as the state repository reader builds them): the link of
 * each output file to its service request, failures, and the verdict's revisions as facts land. A
 * model-based test runs random sequences of requests (failures, restarts, slow drivers) against the
 * truth of the schedule that made them.
 */
import * as fc from 'fast-check';
import type { LogEvent, StreamSpec } from '../../src/parse';
import type { CompetitionFacts, RoundFacts } from '../../src/parse/competition-state';
import { GenerationRecordSchema, type GenerationRecord } from '../../src/schema';
import type { Tracker, FinishedRecord } from '../../src/assemble';
import { at, makeTracker, outputFile, raw, timeText, toEvents, type Line } from './events';
import { loguru } from '../parse/helpers';
import { completeness } from '../../src/sinks';

const SERVICE: StreamSpec = { app: 'generation', role: 'generation', group: 'generation', stream: 'error', file: '/logs/generation-error.log' };
const HOTKEY = '5GgVxYJS3RsZtdhCVkW9DwBcjojAkcSpZXz6AnefsThrhPJf';
const STEM_A = 'a'.repeat(64);
const STEM_B = 'b'.repeat(64);

const COMPETITION = {
  app: 'generation',
  hotkey: HOTKEY,
  host: 'test-host',
  collectorVersion: '0.0.0-test',
  minerVersion: null,
  minerConfig: {},
  linkWithinMs: 30_000,
  taskTimeoutMs: 30 * 60_000,
  holdMs: 14 * 86_400_000,
};

/** A service line at second `s`. */
const g = (s: number, msg: string, level = 'INFO', where = '__main__:generate_model:135'): Line => [SERVICE, loguru(msg, { time: timeText(s), level: level as 'INFO', where })];
const received = (s: number): Line => g(s, 'Task received. Prompt-Image');
const took = (s: number, secs: number): Line => g(s, `Model Generation took: ${secs} secs.`, 'DEBUG', '__main__:generation_block:121');
const gc = (s: number, secs: number): Line => g(s, `Garbage Collection took: ${secs} secs`, 'DEBUG', '__main__:generation_block:126');
const completed = (s: number): Line => g(s, 'Task completed.', 'INFO', '__main__:generate_model:144');
const UVICORN_ERROR = [
  'ERROR:    Exception in ASGI application',
  'Traceback (most recent call last):',
  '  File "/workspace/serve.py", line 141, in generate_model',
  'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB',
];

function round(n: number, over: Partial<RoundFacts> = {}): RoundFacts {
  return {
    round: n,
    prompts: [STEM_A, STEM_B].map((stem) => ({ stem, url: `https://example.org/${stem}.png` })),
    promptsSeenMs: at(0),
    seed: 1234,
    generationStages: [{ fromMs: at(0), toMs: at(7200) }],
    registered: true,
    submitted: null,
    submittedSeenMs: null,
    submittedUpdatedMs: null,
    matches: [],
    audit: null,
    winner: null,
    ...over,
  };
}

function facts(rounds: RoundFacts[], commit = 'c0'): CompetitionFacts {
  return { name: 'mesh', commit, commitMs: at(0), hotkey: HOTKEY, rounds, notUnderstood: [] };
}

type Item = { kind: 'event'; e: LogEvent } | { kind: 'file'; name: string; s: number; size: number; handedS?: number };

/**
 * Feeds events and files in time order as the merge would (a file after a line of the same time), measuring
 * outputs as the pipeline does. A file with `handedS` is handed on then rather than at its own time (one
 * reported late: the output-dir source reports a file once its size is stable, and under load a later
 * file can come first).
 */
function feed(tracker: Tracker, lines: Line[], files: { name: string; s: number; size: number; handedS?: number }[]): void {
  const items: Item[] = [...toEvents(lines).map((e) => ({ kind: 'event' as const, e })), ...files.map((f) => ({ kind: 'file' as const, ...f }))];
  const time = (x: Item) => (x.kind === 'event' ? x.e.timeMs : at(x.handedS ?? x.s));
  // by time; a stream's events keep their order, and a line goes before a file of the same time
  const order = new Map(items.map((x, i) => [x, i]));
  items.sort((a, b) => time(a) - time(b) || (a.kind === b.kind ? order.get(a)! - order.get(b)! : a.kind === 'event' ? -1 : 1));
  for (const x of items) {
    tracker.tick(time(x));
    if (x.kind === 'event') tracker.push(x.e);
    else tracker.pushOutput(outputFile('competition', x.name, x.s, x.size, '/srv/outputs'));
    for (const m of tracker.outputsToMeasure()) tracker.setOutputMeasure(m.id, { sha256: 'f'.repeat(64), ply: null, error: null });
  }
}

function valid(f: FinishedRecord[]): GenerationRecord[] {
  return f.map((x) => {
    const parsed = GenerationRecordSchema.safeParse(x.record);
    if (!parsed.success) throw new Error(`record breaks the schema: ${parsed.error.message}`);
    return x.record;
  });
}

test('an output file is the generation of the request that completed just before it, with the service timings', async () => {
  const { tracker } = await makeTracker({ competition: COMPETITION });
  tracker.setCompetitionFacts(facts([round(1)]));
  feed(tracker, [received(10), took(52.3, 41.2), gc(52.5, 0.2), completed(52.6)], [{ name: `${STEM_A}.glb`, s: 53.1, size: 4096 }]);
  const [r, ...more] = valid(tracker.drainRecords());
  expect(more).toEqual([]);
  expect(r!.competition).toMatchObject({ stem: STEM_A, round: 1, round_by: 'generation_stage', prompt_url: `https://example.org/${STEM_A}.png`, seed: 1234, hotkey: HOTKEY, output_hash: `sha256:${'f'.repeat(64)}` });
  expect(r!.metadata.timestamp).toBe(new Date(at(10)).toISOString());
  expect(r!.generation.timing).toMatchObject({ total_time: 42.6, model_generation_time: 41.2, garbage_collection_time: 0.2 });
  expect(r!.generation.output.file_size_bytes).toBe(4096);
  expect(r!.provenance.links.find((l) => l.event === 'output_written')).toEqual({ event: 'output_written', link: 'determined', candidates: 1 });
  expect(r!.outcome).toBe('no_feedback');
  expect(r!.task).toMatchObject({ task_type: 'IMAGE-TO-3D', prompt: `https://example.org/${STEM_A}.png`, is_base64_image: false });
});

test('the verdict lands in steps, each a new version of the same record: download, duel, round winner', async () => {
  const { tracker } = await makeTracker({ competition: COMPETITION });
  tracker.setCompetitionFacts(facts([round(1)]));
  feed(tracker, [received(10), took(20, 9.5), completed(20.2), received(30), took(40, 9.8), completed(40.1)], [
    { name: `${STEM_A}.glb`, s: 20.5, size: 100 },
    { name: `${STEM_B}.glb`, s: 40.4, size: 200 },
  ]);
  const first = valid(tracker.drainRecords());
  expect(first.map((r) => r.competition!.stem)).toEqual([STEM_A, STEM_B]);
  const ids = first.map((r) => r.metadata.generation_id);

  // the validators downloaded A, found nothing for B
  const submitted = {
    [STEM_A]: { outputUrl: 'https://cdn/a.glb', previewUrl: null, generationTime: 9.5, size: 100, attempts: 1, distance: 0.1 },
    [STEM_B]: { outputUrl: null, previewUrl: null, generationTime: 0, size: 0, attempts: 3, distance: 0 },
  };
  tracker.setCompetitionFacts(facts([round(1, { submitted, submittedSeenMs: at(7300) })], 'c1'));
  const second = valid(tracker.drainRecords());
  expect(second.map((r) => r.metadata.generation_id)).toEqual(ids);
  expect(second[0]!.generation.submission.submitted).toBe(true);
  expect(second[1]!).toMatchObject({ outcome: 'submit_failed', failure_analysis: { failed: true, error_type: 'submit_failed' }, generation: { submission: { submitted: false } } });

  // the duels: A won against the leader
  const match = {
    file: `rounds/1/${HOTKEY}/duels_leader.json`,
    opponent: 'leader',
    score: 1,
    margin: 0.5,
    outcome: null,
    seenMs: at(9000),
    updatedMs: at(9000),
    duels: [{ stem: STEM_A, promptUrl: null, opponent: 'leader', minerOutputUrl: 'https://cdn/a.glb', opponentOutputUrl: 'https://leader/a.glb', winner: 'miner' as const, issues: 'Second model is better' }],
  };
  tracker.setCompetitionFacts(facts([round(1, { submitted, submittedSeenMs: at(7300), matches: [match] })], 'c2'));
  const third = valid(tracker.drainRecords());
  expect(third.map((r) => r.metadata.generation_id)).toEqual([ids[0]]); // B's record says nothing new
  expect(third[0]!).toMatchObject({
    outcome: 'accepted',
    validator_feedback: { received: true, score: 1, accepted: true, feedback_time: new Date(at(9000)).toISOString() },
    competition: { duel: { opponent: 'leader', winner: 'miner', issues: 'Second model is better', opponent_output_url: 'https://leader/a.glb' }, match: { score: 1, margin: 0.5 } },
  });
  expect(third[0]!.validator_feedback.feedback_delay_seconds).toBeCloseTo((at(9000) - at(20.5)) / 1000, 2);

  // the round is decided: both are final and let go
  tracker.setCompetitionFacts(facts([round(1, { submitted, submittedSeenMs: at(7300), matches: [match], winner: { hotkey: 'leader', seenMs: at(9500) } })], 'c3'));
  const fourth = valid(tracker.drainRecords());
  expect(fourth.map((r) => r.competition!.round_winner)).toEqual(['leader', 'leader']);
  expect(tracker.competition!.heldCount).toBe(0);
  tracker.setCompetitionFacts(facts([round(1)], 'c4'));
  expect(tracker.drainRecords()).toEqual([]);
});

test('a re-judged duel (the file rewritten with another verdict) is written again, newer; the same facts read again are not', async () => {
  const { tracker } = await makeTracker({ competition: COMPETITION });
  feed(tracker, [received(10), completed(20)], [{ name: `${STEM_A}.glb`, s: 20.5, size: 100 }]);
  const duel = (winner: 'miner' | 'opponent', updatedMs: number) => ({
    file: `rounds/1/${HOTKEY}/duels_leader.json`,
    opponent: 'leader',
    score: winner === 'miner' ? 1 : -1,
    margin: 0,
    outcome: null,
    seenMs: at(9000),
    updatedMs,
    duels: [{ stem: STEM_A, promptUrl: null, opponent: 'leader', minerOutputUrl: null, opponentOutputUrl: null, winner, issues: null }],
  });
  tracker.setCompetitionFacts(facts([round(1, { matches: [duel('miner', at(9000))] })], 'c1'));
  tracker.setCompetitionFacts(facts([round(1, { matches: [duel('miner', at(9000))] })], 'c2'));
  tracker.setCompetitionFacts(facts([round(1, { matches: [duel('opponent', at(12000))] })], 'c3'));
  const written = valid(tracker.drainRecords());
  expect(written.map((r) => `${r.outcome}@${r.validator_feedback.feedback_time ?? '-'}`)).toEqual([
    'no_feedback@-',
    'accepted@' + new Date(at(9000)).toISOString(),
    'rejected@' + new Date(at(12000)).toISOString(),
  ]);
  expect(completeness(written[2]!)).toBeGreaterThan(completeness(written[1]!));
});

test('a request that raises (uvicorn\'s traceback joins its line) is a failed generation of an unknown prompt; the next links normally', async () => {
  const { tracker } = await makeTracker({ competition: COMPETITION });
  const lines: Line[] = [received(10), ...UVICORN_ERROR.map((t) => raw(SERVICE, t)), received(20), took(30, 9.9), completed(30.1)];
  feed(tracker, lines, [{ name: `${STEM_B}.glb`, s: 30.3, size: 10 }]);
  const records = valid(tracker.drainRecords());
  expect(records).toHaveLength(2);
  const [failed, ok] = records;
  expect(failed).toMatchObject({ outcome: 'generation_failed', competition: { stem: null, output_file: null, hotkey: HOTKEY }, failure_analysis: { failed: true, error_type: 'exception', error_message: 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB' } });
  expect(failed!.failure_analysis.stack_trace).toContain('Exception in ASGI application');
  // its round: the generation stage open when it was received
  tracker.setCompetitionFacts(facts([round(1, { generationStages: [{ fromMs: at(5), toMs: at(15) }] }), round(2, { generationStages: [{ fromMs: at(15), toMs: null }] })]));
  const revised = valid(tracker.drainRecords());
  expect(revised.map((r) => [r.competition!.stem === null ? 'failed' : 'ok', r.competition!.round, r.competition!.round_by])).toEqual([
    ['failed', 1, 'generation_stage'],
    ['ok', 2, 'generation_stage'],
  ]);
  expect(revised[0]!.outcome).toBe('generation_failed');
  expect(ok!.competition!.stem).toBe(STEM_B);
  expect(ok!.generation.timing.total_time).toBe(10.1);
});

test('live, the request\'s line is handed on before uvicorn\'s traceback comes: the traceback alone is its failure, the same as when joined', async () => {
  const { tracker } = await makeTracker({ competition: COMPETITION });
  // a line of another stream between them flushes the service's open entry, as the live idle flush does
  const OTHER: StreamSpec = { ...SERVICE, stream: 'out', file: '/logs/generation-out.log' };
  const lines: Line[] = [received(10), [OTHER, loguru('INFO:     127.0.0.1:5000 - "GET /health HTTP/1.1" 200 OK', { time: timeText(11) })], ...UVICORN_ERROR.map((t) => raw(SERVICE, t)), received(20), completed(30)];
  const events = toEvents(lines);
  expect(events.map((e) => e.type)).toEqual(['service_task_received', 'exception', 'service_task_received', 'service_task_completed']);
  feed(tracker, lines, [{ name: `${STEM_B}.glb`, s: 30.3, size: 10 }]);
  const [failed, ok] = valid(tracker.drainRecords());
  expect(failed).toMatchObject({ outcome: 'generation_failed', failure_analysis: { error_type: 'exception', error_message: 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB' } });
  expect(failed!.failure_analysis.stack_trace).toContain('line 141, in generate_model');
  expect(ok!.competition!.stem).toBe(STEM_B);
});

test('a file no request explains is still a generation, marked incomplete; a completed request whose file never comes is recorded too', async () => {
  const { tracker } = await makeTracker({ competition: COMPETITION });
  feed(tracker, [received(10), completed(20)], [{ name: `${STEM_A}.ply`, s: 5, size: 10 }]);
  tracker.tick(at(100));
  const records = valid(tracker.drainRecords());
  expect(records).toHaveLength(2);
  const byStem = records.find((r) => r.competition!.stem === STEM_A)!;
  expect(byStem.provenance.incomplete_reasons).toEqual(['service_lines_not_seen']);
  expect(byStem.generation.timing.total_time).toBeNull();
  const orphan = records.find((r) => r.competition!.stem === null)!;
  expect(orphan.provenance.incomplete_reasons).toEqual(['output_file_not_seen']);
  expect(orphan.generation.timing.total_time).toBe(10);
});

test('the open work survives a restart: a snapshot taken between a request and its file links the file after restore', async () => {
  const a = await makeTracker({ competition: COMPETITION });
  feed(a.tracker, [received(10), completed(20)], []);
  const snap = JSON.parse(JSON.stringify(a.tracker.snapshot())) as ReturnType<Tracker['snapshot']>;
  const b = await makeTracker({ competition: COMPETITION });
  b.tracker.restore(snap);
  feed(b.tracker, [], [{ name: `${STEM_A}.glb`, s: 21, size: 10 }]);
  const [r] = valid(b.tracker.drainRecords());
  expect(r!.generation.timing.total_time).toBe(10);
  expect(r!.competition!.stem).toBe(STEM_A);
});

// ---- model-based: random request sequences against their truth ----

interface Step {
  gapS: number;
  genS: number;
  /** ok, raise (traceback), restart (the service starts again mid-request), no_file (the driver lost the answer). */
  fate: 'ok' | 'raise' | 'restart' | 'no_file';
  saveS: number;
  /** Its file is handed on after the next request's. */
  late: boolean;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  gapS: fc.double({ min: 0.05, max: 20, noNaN: true }),
  genS: fc.double({ min: 0.5, max: 120, noNaN: true }),
  fate: fc.constantFrom<Step['fate']>('ok', 'ok', 'ok', 'ok', 'raise', 'restart', 'no_file'),
  saveS: fc.double({ min: 0, max: 5, noNaN: true }),
  late: fc.boolean(),
});

test('model: every output file goes, determined, to the request that made it, even when handed on after the next; every request that made none is one record of why', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
      const { tracker } = await makeTracker({ competition: COMPETITION });
      const lines: Line[] = [];
      const files: { name: string; s: number; size: number; handedS?: number }[] = [];
      const late: boolean[] = [];
      const truth = new Map<string, { receivedS: number; completedS: number }>();
      let failures = 0;
      let t = 1;
      steps.forEach((st, i) => {
        const stem = i.toString(16).padStart(64, '0');
        t += st.gapS;
        const r = Math.round(t * 1000) / 1000;
        lines.push(received(r));
        t += st.genS;
        const c = Math.round(t * 1000) / 1000;
        if (st.fate === 'raise') {
          lines.push(...UVICORN_ERROR.map((x) => raw(SERVICE, x)));
          failures++;
          return;
        }
        if (st.fate === 'restart') {
          lines.push(g(c, 'Loading Trellis generator model...', 'INFO', '__main__:lifespan:71'));
          failures++;
          return;
        }
        lines.push(took(c - 0.01, st.genS), completed(c));
        if (st.fate === 'no_file') {
          failures++;
          t += 31; // the driver gave up; the next request comes after the link window
          return;
        }
        t += st.saveS;
        files.push({ name: `${stem}.ply`, s: Math.round(t * 1000) / 1000, size: 1000 + i });
        late.push(st.late);
        truth.set(stem, { receivedS: r, completedS: c });
      });
      // a file reported late comes just after the next one: under load chokidar's stability checks of two
      // files written within a few seconds can cross
      files.forEach((f, i) => {
        const next = files[i + 1];
        if (late[i] && next && next.s - f.s < 5) f.handedS = next.s + 0.001;
      });
      feed(tracker, lines, files);
      tracker.tick(at(t + 3600));
      // the latest version of each record (a best fit settled later is written again)
      const latestById = new Map(valid(tracker.drainRecords()).map((r) => [r.metadata.generation_id, r]));
      const records = [...latestById.values()];
      const withFile = records.filter((r) => r.competition?.stem);
      expect(withFile.map((r) => r.competition!.stem!).sort()).toEqual([...truth.keys()].sort());
      for (const r of withFile) {
        const want = truth.get(r.competition!.stem!)!;
        expect(r.metadata.timestamp).toBe(new Date(at(want.receivedS)).toISOString());
        expect(r.generation.timing.total_time).toBeCloseTo(want.completedS - want.receivedS, 6);
        expect(r.provenance.links.find((l) => l.event === 'output_written')!.link).toBe('determined');
      }
      expect(records.filter((r) => r.competition?.stem === null)).toHaveLength(failures);
      expect(new Set(records.map((r) => r.metadata.generation_id)).size).toBe(records.length);
    }),
    { numRuns: Number(process.env.MODEL_RUNS ?? 200) },
  );
}, 120_000);
