/**
 * The daemon's own log lines (issue 14): one line per record, and a status line only when something
 * changed, at most once a minute, with the last hour's rates.
 */
import fc from 'fast-check';
import { recordFields, recordLine, StatusLine, duration, type StatusSample } from '../../src/pipeline/log-lines';
import { emptyRecord, GenerationRecordSchema, type GenerationRecord } from '../../src/schema';
import { exampleRecord } from '../schema/example-record';

const ID = '9605ef60-1d2c-5b3a-8e4f-0123456789ab';

/** The spec's example record, made a text task with the figures, then `change`d; always schema-valid. */
function record(change: (r: GenerationRecord) => void = () => {}): GenerationRecord {
  const r = exampleRecord();
  r.metadata.generation_id = ID;
  Object.assign(r.task, {
    task_type: 'TEXT-TO-3D',
    prompt: 'a red wooden chair',
    prompt_length: 18,
    is_base64_image: false,
    base64_image_hash: null,
    image_file_path: null,
    log_id: 'a red wooden chair',
  });
  r.generation.timing.total_time = 21.4;
  r.validator_feedback.score = 0.93;
  change(r);
  return GenerationRecordSchema.parse(r);
}

function noFeedback(r: GenerationRecord): void {
  r.validator_feedback = emptyRecord({ generation_id: ID, timestamp: r.metadata.timestamp, host: 'h', miner_app: 'miner', collector_version: '0' }).validator_feedback;
  r.metadata.validator_uid = null;
}

describe('recordLine', () => {
  it('an accepted record: the line of the issue', () => {
    expect(recordLine(record())).toBe('record 9605ef60 TEXT-TO-3D validator 57 score 0.93 accepted 21.4s');
    expect(recordLine(record((r) => (r.validator_feedback.score = 0.7699)))).toMatch(/ score 0\.7699 accepted /);
  });

  it('a rejected one', () => {
    const r = record((r) => {
      Object.assign(r.validator_feedback, { score: 0, accepted: false });
      r.outcome = 'rejected';
    });
    expect(recordLine(r)).toBe('record 9605ef60 TEXT-TO-3D validator 57 score 0 rejected 21.4s');
  });

  it('a failed generation: no validator, no feedback, the outcome and its error type', () => {
    const r = record((r) => {
      noFeedback(r);
      r.task.task_type = 'IMAGE-TO-3D';
      r.generation.timing.total_time = 3.06;
      r.outcome = 'generation_failed';
      r.failure_analysis = { failed: true, error_type: 'endpoint_timeout', error_message: 'timed out', stack_trace: null };
    });
    expect(recordLine(r)).toBe('record 9605ef60 IMAGE-TO-3D validator ? no feedback generation_failed (endpoint_timeout) 3.1s');
  });

  it('"Score: failed": feedback without a score; the error type that repeats the outcome is not repeated', () => {
    const r = record((r) => {
      Object.assign(r.validator_feedback, { score: null, accepted: null });
      r.outcome = 'validation_failed';
      r.failure_analysis = { failed: true, error_type: 'validation_failed', error_message: 'failed', stack_trace: null };
    });
    expect(recordLine(r)).toBe('record 9605ef60 TEXT-TO-3D validator 57 no score validation_failed 21.4s');
  });

  it('no feedback in time: said once', () => {
    const r = record((r) => {
      noFeedback(r);
      r.outcome = 'no_feedback';
    });
    expect(recordLine(r)).toBe('record 9605ef60 TEXT-TO-3D validator ? no feedback 21.4s');
  });

  it('a record that knows almost nothing leaves the unknown out, never "null"', () => {
    const r = GenerationRecordSchema.parse(
      emptyRecord({ generation_id: ID, timestamp: '2025-11-12T21:30:45.123Z', host: 'h', miner_app: 'miner', collector_version: '0.2.0' }),
    );
    expect(recordLine(r)).toBe('record 9605ef60 validator ? no feedback interrupted');
    expect(recordLine(r)).not.toMatch(/null|undefined|NaN/);
  });

  it('a later revision says so', () => {
    expect(recordLine(record((r) => (r.provenance.revision = 2)))).toBe(
      'record 9605ef60 TEXT-TO-3D validator 57 score 0.93 accepted 21.4s revision 2',
    );
  });

  it('fields for the JSON form: the whole id, unknowns null', () => {
    expect(recordFields(record())).toEqual({
      id: ID,
      type: 'TEXT-TO-3D',
      validator: 57,
      score: 0.93,
      outcome: 'accepted',
      errorType: null,
      seconds: 21.4,
      revision: 0,
    });
  });
});

describe('StatusLine', () => {
  const T0 = Date.UTC(2026, 11, 5, 0, 0, 0);
  const sample = (nowMs: number, s: Partial<StatusSample> = {}): StatusSample => ({
    nowMs,
    lines: 0,
    records: 0,
    openTasks: 0,
    quarantined: 0,
    lagSeconds: 0,
    minerLastLineAgeSeconds: 4,
    ...s,
  });

  it('the line of the issue; nothing while nothing changes; nothing before a minute', () => {
    const st = new StatusLine();
    expect(st.next(sample(T0))).toBeNull(); // the start is the baseline
    for (let i = 0; i < 12; i++) st.noteRecord(T0 + i * 1000, { accepted: i < 7 ? true : false });
    expect(st.next(sample(T0 + 59_999, { lines: 500, records: 12, openTasks: 3 }))).toBeNull();
    const line = st.next(sample(T0 + 60_000, { lines: 500, records: 12, openTasks: 3 }));
    expect(line?.msg).toBe("status 12 records/h, acceptance 58% (7 of 12) last hour, 3 open, lag 0s, miner's last line 4s ago");
    expect(line?.fields).toMatchObject({ recordsLastHour: 12, acceptedLastHour: 7, verdictsLastHour: 12, openTasks: 3, lagSeconds: 0 });
    expect(st.next(sample(T0 + 10 * 60_000, { lines: 500, records: 12, openTasks: 3, minerLastLineAgeSeconds: 600 }))).toBeNull();
  });

  it('no verdict: n/a; unknown lag and miner age left out; quarantined said when there are some', () => {
    const st = new StatusLine({ everyMs: 1000 });
    st.next(sample(T0));
    st.noteRecord(T0 + 1, { accepted: null });
    expect(st.next(sample(T0 + 1000, { lines: 3, records: 1, quarantined: 2, lagSeconds: null, minerLastLineAgeSeconds: null }))?.msg).toBe(
      'status 1 records/h, acceptance n/a last hour, 0 open, 2 quarantined',
    );
  });

  it('records older than an hour drop out; a long lag in minutes or hours', () => {
    const st = new StatusLine();
    st.next(sample(T0));
    st.noteRecord(T0, { accepted: true });
    st.noteRecord(T0 + 30 * 60_000, { accepted: false });
    expect(st.next(sample(T0 + 3_600_000, { records: 2, lagSeconds: 5400 }))?.msg).toBe(
      "status 1 records/h, acceptance 0% (0 of 1) last hour, 0 open, lag 1.5h, miner's last line 4s ago",
    );
  });

  it('more records in an hour than it remembers: the count is a lower bound', () => {
    const st = new StatusLine({ capacity: 5 });
    st.next(sample(T0));
    for (let i = 0; i < 8; i++) st.noteRecord(T0 + i, { accepted: true });
    const line = st.next(sample(T0 + 60_000, { records: 8 }));
    expect(line?.msg).toMatch(/^status 5\+ records\/h, acceptance 100% \(5 of 5\) last hour/);
    expect(line?.fields.recordsLastHourIsLowerBound).toBe(true);
    // an hour after the forgotten ones, the count is exact again
    expect(st.next(sample(T0 + 3_600_000 + 7, { records: 9 }))?.msg).toMatch(/^status 0 records\/h/);
  });

  it('duration: seconds, minutes, hours', () => {
    expect([0, 4.4, 89, 90, 5399, 5400, 36_000].map(duration)).toEqual(['0s', '4s', '89s', '2m', '90m', '1.5h', '10h']);
  });

  /**
   * The model: random records and samples over hours; StatusLine against a naive recount of everything.
   * Times move in steps of 10 s (everyMs too), so samples fall exactly on the minute and the hour often.
   */
  const TICK = 10_000;
  const ticks = (max: number) => fc.integer({ min: 0, max }).map((n) => n * TICK);
  const step = fc.oneof(
    fc.record({ kind: fc.constant('record' as const), dtMs: ticks(12), accepted: fc.constantFrom(true, false, null) }),
    fc.record({
      kind: fc.constant('sample' as const),
      dtMs: fc.oneof({ arbitrary: ticks(12), weight: 4 }, { arbitrary: ticks(720), weight: 1 }),
      change: fc.constantFrom(null, 'lines', 'records', 'openTasks', 'quarantined'),
    }),
  );

  it.each([
    ['remembering every record', 20_000],
    ['remembering few records', 7],
  ])('model: never two lines closer than everyMs, none without a change, the hour counts a recount (%s)', (_name, capacity) => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 400, size: 'max' }), fc.integer({ min: 1, max: 12 }), fc.constantFrom(-1, 0, 1), (steps, everyTicks, off) => {
        const everyMs = everyTicks * TICK + off; // a millisecond either side of the grid: the bound is exact
        const st = new StatusLine({ everyMs, capacity });
        const noted: Array<{ ms: number; accepted: boolean | null }> = [];
        let now = T0;
        const counters = { lines: 0, records: 0, openTasks: 0, quarantined: 0 };
        let last: { ms: number; counters: string } | null = null;
        for (const s of steps) {
          now += s.dtMs;
          if (s.kind === 'record') {
            st.noteRecord(now, { accepted: s.accepted });
            noted.push({ ms: now, accepted: s.accepted });
            continue;
          }
          if (s.change) counters[s.change]++;
          const line = st.next({ nowMs: now, ...counters, lagSeconds: null, minerLastLineAgeSeconds: null });
          // lines alone are no news: the miner's own status line every 30 s
          const key = JSON.stringify({ ...counters, lines: 0 });
          if (!last) {
            expect(line).toBeNull();
            last = { ms: now, counters: key };
            continue;
          }
          const due = now - last.ms >= everyMs && key !== last.counters;
          expect(line !== null).toBe(due);
          if (!line) continue;
          last = { ms: now, counters: key };
          const hour = noted.filter((n) => n.ms > now - 3_600_000 && n.ms <= now);
          const remembered = noted.slice(-capacity).filter((n) => n.ms > now - 3_600_000 && n.ms <= now);
          const verdicts = remembered.filter((n) => n.accepted !== null);
          expect(line.fields).toMatchObject({
            recordsLastHour: remembered.length,
            recordsLastHourIsLowerBound: hour.length > remembered.length,
            verdictsLastHour: verdicts.length,
            acceptedLastHour: verdicts.filter((n) => n.accepted).length,
          });
          expect(line.msg.startsWith(`status ${remembered.length}${hour.length > remembered.length ? '+' : ''} records/h, `)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
