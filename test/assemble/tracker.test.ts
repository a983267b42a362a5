/**
 * Direct tests of the generation tracker: real log lines through the real StreamParser (default rules,
 * in memory), the events fed to `new Tracker(...)` as `ingest` feeds them. They pin today's behaviour
 * before the tracker is split into modules; the attribution guesses that are meant to change live in
 * their own describe block at the end.
 */
import { generationId } from '../../src/schema';
import { completeness } from '../../src/sinks';
import { compileRules, DEFAULT_RULES, type LogEvent } from '../../src/parse';
import type { GenerationRecord } from '../../src/schema';
import type { FinishedRecord, TrackerOptions, TrackerSnapshot } from '../../src/assemble';
import {
  CUSTOM_RULES,
  ENDPOINTS,
  MINER,
  URL1,
  URL2,
  W1,
  W2,
  acceptedTask,
  at,
  feed,
  hashers,
  iso,
  links,
  m,
  makeTracker,
  msg,
  outputFile,
  raw,
  recordOf,
  run,
  sha256Hex,
  smallPng,
  start,
  STATS,
  timeText,
  toEvents,
  w,
  type Line,
} from './events';

const APP = 'miner-sn17-mainnet';
const idOf = (s: number, logId: string, occurrence = 0) => generationId({ minerApp: APP, headerTime: timeText(s), logId, occurrence });
const events = (r: GenerationRecord) => r.provenance.sources.map((s) => s.event);
const HOTKEY = '5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX';


describe('the helpers', () => {
  test('the lines give the events the tracker is fed (types, times, fields)', () => {
    const ev = toEvents([
      ...start(0, 'a red chair'),
      w(W1, 5, ' Generation took: 0.25 min', 'INFO', '__main__:generate:52'),
      m(20, msg.unexpectedError('boom', URL1), 'ERROR'),
      raw(MINER, 'Traceback (most recent call last):'),
      raw(MINER, '  File "/srv/miner/workers.py", line 12, in _generate'),
      raw(MINER, 'ValueError: boom'),
      m(30, msg.feedback(7, '0.0', 'a red chair')),
    ]);
    expect(ev.map((e) => `${e.type}@${e.timeMs - at(0)}`)).toEqual([
      'task_received@0',
      'generating@100',
      'worker_metrics@5000',
      'client_error@20000',
      'feedback@30000',
    ]);
    expect(ev[3]!.stackTrace).toBe('Traceback (most recent call last):\n  File "/srv/miner/workers.py", line 12, in _generate\nValueError: boom');
    expect(ev[4]!.fields).toEqual({ validator_uid: 7, score: 0, log_id: 'a red chair' });
  });

  test('BLAKE3 is the real one (empty-input test vector)', async () => {
    expect((await hashers()).blake3Hex(Buffer.alloc(0))).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  });
});

describe('one endpoint', () => {
  test('accepted, with the detail line: every field of the record', async () => {
    const { records, finished, tracker } = await run([
      m(-5, 'Running neuron on subnet 17 with uid 226 using network: wss://entrypoint-finney.opentensor.ai:443', 'INFO'),
      ...acceptedTask(0, 'a red chair', { bytes: 1048576, detail: true }),
    ]);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r.metadata).toEqual({
      generation_id: idOf(0, 'a red chair'),
      timestamp: iso(0),
      miner_uid: 226,
      miner_version: null,
      validator_uid: 7,
      validator_hotkey: null,
      network: 'mainnet',
      host: 'test-host',
      miner_app: APP,
    });
    expect(r.task).toEqual({
      task_type: 'TEXT-TO-3D',
      prompt: 'a red chair',
      prompt_length: 11,
      is_base64_image: false,
      base64_image_hash: null,
      image_file_path: null,
      log_id: 'a red chair',
    });
    expect(r.outcome).toBe('accepted');
    expect(r.failure_analysis).toEqual({ failed: false, error_type: null, error_message: null, stack_trace: null });
    expect(r.generation.submission).toEqual({ submitted: true, submission_time: iso(20), pre_submission_rejection: false, rejection_reason: null });
    expect(r.generation.timing.total_time).toBe(19.9);
    expect(r.generation.output.file_size_bytes).toBe(1048576);
    expect(r.generation.output.file_size_mb).toBe(1);
    expect(r.validator_feedback).toEqual({
      received: true,
      feedback_time: iso(30),
      score: 0.83,
      accepted: true,
      feedback_delay_seconds: 10,
      average_score: 0.71,
      duel_rating: 1523.4,
      accepted_recent: 37,
      accepted_window_hours: 4,
      reward: 0.0123,
    });
    expect(links(r)).toEqual(['generation_completed:determined:1', 'feedback:named:1']);
    expect(events(r)).toEqual(['task_received', 'generating', 'generation_completed', 'feedback', 'feedback_detail']);
    expect(r.provenance.sources.every((s) => s.file === MINER.file)).toBe(true);
    expect(r.provenance.incomplete).toBe(false);
    expect(r.provenance.incomplete_reasons).toEqual([]);
    // a feedback-only record of this task would have had the id of the feedback line: superseded if present
    expect(finished[0]!.supersedesIfPresent).toEqual([idOf(30, 'a red chair')]);
    expect(finished[0]!.ply).toBeNull();
    expect(tracker.counters).toMatchObject({ tasksStarted: 1, recordsFinished: 1, feedbackWithoutTask: 0, eventsWithoutTask: 0 });
  });

  test('the record is finished by its detail line, without waiting for the end of the input', async () => {
    const { records } = await run(acceptedTask(0, 'a red chair', { detail: true }), { finish: false });
    expect(records.map((r) => r.outcome)).toEqual(['accepted']);
  });

  test('without a detail line: finished by the next miner line, or 60 s later by tick; a worker line does not close it', async () => {
    const t = await makeTracker();
    feed(t.tracker, toEvents(acceptedTask(0, 'a red chair')));
    feed(t.tracker, toEvents([w(W1, 31, ' Generation took: 0.25 min')]));
    expect(t.tracker.drainRecords()).toHaveLength(0);
    t.tracker.tick(at(30 + 60));
    expect(t.tracker.drainRecords()).toHaveLength(0);
    t.tracker.tick(at(30 + 60.001));
    const [f] = t.tracker.drainRecords();
    expect(f!.record.outcome).toBe('accepted');
    expect(f!.record.validator_feedback.average_score).toBeNull();

    const u = await makeTracker();
    feed(u.tracker, toEvents([...acceptedTask(0, 'a red chair'), m(31, 'Miner | UID:226 | Block:4512345 | Stake:1.5 | Trust:0 | Incentive:0.01 | Emission:0.2', 'INFO')]));
    expect(u.tracker.drainRecords().map((x) => x.record.outcome)).toEqual(['accepted']);
  });

  test('old detail line: (last 8h), no duel rating', async () => {
    const { records } = await run([
      ...acceptedTask(0, 'a red chair'),
      m(30.001, 'Average score: 0.65. Accepted results (last 8h): 12. Reward: 0.004.'),
    ]);
    expect(records[0]!.validator_feedback).toMatchObject({
      average_score: 0.65,
      duel_rating: null,
      accepted_recent: 12,
      accepted_window_hours: 8,
      reward: 0.004,
    });
  });

  test('rejected: Score 0.0', async () => {
    const { records } = await run(acceptedTask(0, 'a red chair', { score: '0.0' }));
    const r = records[0]!;
    expect(r.outcome).toBe('rejected');
    expect(r.validator_feedback).toMatchObject({ received: true, score: 0, accepted: false });
    expect(r.failure_analysis.failed).toBe(false);
    expect(r.generation.submission).toMatchObject({ submitted: true, pre_submission_rejection: false });
  });

  test('Score: failed -> validation_failed', async () => {
    const { records } = await run(acceptedTask(0, 'a red chair', { score: 'failed' }));
    const r = records[0]!;
    expect(r.outcome).toBe('validation_failed');
    expect(r.validator_feedback).toMatchObject({ received: true, score: null, accepted: null });
    expect(r.failure_analysis).toEqual({
      failed: true,
      error_type: 'validation_failed',
      error_message: 'the validation returned no score (Score: failed)',
      stack_trace: null,
    });
  });

  test('acceptScoreAbove moves the line between accepted and rejected', async () => {
    const { records } = await run(acceptedTask(0, 'a red chair', { score: '0.5' }), { options: { acceptScoreAbove: 0.6 } });
    expect(records[0]!.outcome).toBe('rejected');
    expect(records[0]!.validator_feedback.accepted).toBe(false);
  });

  test('generation failed (HTTP 500), then feedback 0 for the empty submission', async () => {
    const { records } = await run([
      ...start(0, 'a red chair'),
      m(12, msg.failed(500), 'ERROR'),
      m(13, msg.feedback(7, '0.0', 'a red chair')),
    ]);
    const r = records[0]!;
    expect(r.outcome).toBe('generation_failed');
    expect(r.failure_analysis).toEqual({
      failed: true,
      error_type: 'generation_http_error',
      error_message: 'Generation failed with code: 500',
      stack_trace: null,
    });
    expect(r.generation.submission).toEqual({
      submitted: true,
      submission_time: iso(12),
      pre_submission_rejection: true,
      rejection_reason: 'generation_http_error',
    });
    expect(r.generation.timing.total_time).toBe(11.9);
    expect(r.generation.output.file_size_bytes).toBeNull();
    expect(r.validator_feedback).toMatchObject({ received: true, score: 0, accepted: false, feedback_delay_seconds: 1 });
    expect(links(r)).toEqual(['generation_failed:determined:1', 'feedback:named:1']);
  });

  test.each([
    ['endpoint unreachable', msg.unreachable(URL1), 'endpoint_unreachable', `Failed to connect to the endpoint: ${URL1}`],
    ['endpoint timeout', msg.timedOut(URL1), 'endpoint_timeout', `The request to the endpoint timed out: ${URL1}`],
    ['client error', msg.clientError('Server disconnected', URL1), 'client_error', `Server disconnected (${URL1})`],
    ['unexpected error', msg.unexpectedError('division by zero', URL1), 'client_error', `division by zero (${URL1})`],
  ])('%s (the URL named, one endpoint configured)', async (_name, line, errorType, message) => {
    const { records, tracker } = await run([...start(0, 'a red chair'), m(300, line, 'ERROR'), m(301, msg.feedback(7, '0.0', 'a red chair'))], {
      options: { endpoints: { [URL1]: 'g1' } },
    });
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r.outcome).toBe('generation_failed');
    expect(r.failure_analysis).toEqual({ failed: true, error_type: errorType, error_message: message, stack_trace: null });
    expect(r.generation.submission).toMatchObject({ submitted: true, pre_submission_rejection: true, rejection_reason: errorType });
    expect(r.generation.timing.total_time).toBe(299.9);
    expect(links(r)).toEqual([`${errorType}:determined:1`, 'feedback:named:1']);
    expect(tracker.counters.eventsWithoutTask).toBe(0);
  });

  test('an error line followed by a traceback is an exception, with its stack trace', async () => {
    const { records } = await run([
      ...start(0, 'a red chair'),
      m(5, msg.unexpectedError('boom', URL1), 'ERROR'),
      raw(MINER, 'Traceback (most recent call last):'),
      raw(MINER, '  File "/srv/miner/workers.py", line 12, in _generate'),
      raw(MINER, 'ValueError: boom'),
      m(6, msg.feedback(7, '0.0', 'a red chair')),
    ]);
    const r = records[0]!;
    expect(r.outcome).toBe('generation_failed');
    expect(r.failure_analysis).toEqual({
      failed: true,
      error_type: 'exception',
      error_message: `boom (${URL1})`,
      stack_trace: 'Traceback (most recent call last):\n  File "/srv/miner/workers.py", line 12, in _generate\nValueError: boom',
    });
    expect(r.generation.submission.rejection_reason).toBe('exception');
    expect(links(r)).toEqual(['client_error:determined:1', 'feedback:named:1']);
  });

  test('an ERROR line no rule knows, with a traceback (bt.logging.exception), ends the only generating task', async () => {
    const { records } = await run([
      ...start(0, 'a red chair'),
      m(5, 'Unhandled failure in generation loop', 'ERROR'),
      raw(MINER, 'Traceback (most recent call last):'),
      raw(MINER, '  File "/srv/miner/workers.py", line 40, in worker_routine'),
      raw(MINER, 'RuntimeError: bad state'),
    ]);
    const r = records[0]!;
    expect(r.outcome).toBe('generation_failed');
    expect(r.failure_analysis).toMatchObject({ failed: true, error_type: 'exception', error_message: 'Unhandled failure in generation loop' });
    expect(r.failure_analysis.stack_trace).toContain('RuntimeError: bad state');
    expect(links(r)).toEqual(['exception:determined:1']);
  });

  test('submit failure: finished at once as submit_failed, the hotkey kept', async () => {
    const { records } = await run(
      [...start(0, 'a red chair'), m(20, msg.completed(1000)), m(320, msg.submitFailed(HOTKEY, 'Request timeout after 300.0 seconds'), 'WARNING')],
      { finish: false },
    );
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r.outcome).toBe('submit_failed');
    expect(r.failure_analysis).toEqual({
      failed: true,
      error_type: 'submit_failed',
      error_message: 'Failed to submit results: Request timeout after 300.0 seconds',
      stack_trace: null,
    });
    expect(r.generation.submission).toEqual({ submitted: false, submission_time: iso(20), pre_submission_rejection: false, rejection_reason: null });
    expect(r.metadata.validator_hotkey).toBe(HOTKEY);
    expect(r.validator_feedback.received).toBe(false);
    expect(links(r)).toEqual(['generation_completed:determined:1', 'submit_failed:determined:1']);
  });

  test('submit failure after a failed generation stays generation_failed', async () => {
    const { records } = await run([...start(0, 'a red chair'), m(5, msg.failed(503), 'ERROR'), m(305, msg.submitFailed(HOTKEY, 'Service unavailable at 1.2.3.4:8091/SubmitResults'), 'WARNING')]);
    const r = records[0]!;
    expect(r.outcome).toBe('generation_failed');
    expect(r.failure_analysis.error_type).toBe('generation_http_error');
    expect(r.generation.submission.submitted).toBe(false);
  });

  test('no feedback: finished by tick once feedbackTimeoutMs has passed since the end (strictly) and a line shows the miner alive past it', async () => {
    const t = await makeTracker({ feedbackTimeoutMs: 600_000 });
    feed(t.tracker, toEvents([...start(0, 'a red chair'), m(20, msg.completed(1000)), ...start(30, 'a blue lamp'), m(40, msg.failed(500), 'ERROR'), m(645, STATS, 'INFO')]));
    t.tracker.tick(at(620));
    expect(t.tracker.drainRecords()).toHaveLength(0);
    t.tracker.tick(at(620.001));
    const first = t.tracker.drainRecords().map((f) => f.record);
    expect(first.map((r) => [r.task.prompt, r.outcome])).toEqual([['a red chair', 'no_feedback']]);
    expect(first[0]!.validator_feedback).toMatchObject({ received: false, score: null, accepted: null });
    expect(first[0]!.generation.submission.submitted).toBeNull();
    expect(first[0]!.provenance.incomplete_reasons).toEqual([]);
    t.tracker.tick(at(640.001));
    expect(t.tracker.drainRecords().map((f) => [f.record.task.prompt, f.record.outcome])).toEqual([['a blue lamp', 'generation_failed']]);
  });

  test('old-format feedback carries the full prompt: linked by the prompt (a long text cut in the log id)', async () => {
    const long = 'a highly detailed medieval wooden treasure chest with iron bands, brass lock, scattered gold coins around it, studio light';
    expect(long.length).toBeGreaterThan(100);
    const { records } = await run([
      ...start(0, long),
      m(20, msg.completed(1000)),
      m(30, msg.oldFeedback(3, long, '0.77')),
      m(30.001, 'Average score: 0.7. Accepted results (last 4h): 5. Reward: 0.01.'),
    ]);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r.task.log_id).toBe(long.slice(0, 97) + '...');
    expect(r.task.prompt_length).toBe(long.length);
    expect(r.outcome).toBe('accepted');
    expect(r.metadata.validator_uid).toBe(3);
    expect(r.validator_feedback).toMatchObject({ score: 0.77, accepted_window_hours: 4, duel_rating: null });
    expect(links(r)).toEqual(['generation_completed:determined:1', 'feedback:named:1']);
  });

  test('new-format feedback of a long text prompt: linked by the cut log id; code points counted', async () => {
    const long = 'a tiny ceramic 🐉 dragon figurine with glossy emerald scales, curled around a pearl, on white table 🔥 with soft shadows';
    const logId = [...long].slice(0, 97).join('') + '...';
    const { records } = await run([...start(0, long), m(20, msg.completed(1000)), m(30, msg.feedback(7, '0.9', logId))]);
    const r = records[0]!;
    expect(r.task.prompt).toBe(long);
    expect(r.task.prompt_length).toBe([...long].length);
    expect(r.task.log_id).toBe(logId);
    expect(r.outcome).toBe('accepted');
  });

  test('image prompt: hashed, stored once, linked by image:<blake3>; old-format feedback with the base64 too', async () => {
    const png = smallPng();
    const b64 = png.toString('base64');
    expect(b64.length).toBeGreaterThan(256);
    const logId = 'image:' + (await hashers()).blake3Hex(Buffer.from(b64));
    const sha = sha256Hex(png);
    const run1 = await run([...start(0, b64), m(20, msg.completed(2000)), m(30, msg.feedback(7, '0.9', logId))]);
    expect(run1.records).toHaveLength(1);
    const r = run1.records[0]!;
    expect(r.task).toEqual({
      task_type: 'IMAGE-TO-3D',
      prompt: `[BASE64_IMAGE_HASH:sha256:${sha}]`,
      prompt_length: b64.length,
      is_base64_image: true,
      base64_image_hash: `sha256:${sha}`,
      image_file_path: `images/${sha}.png`,
      log_id: logId,
    });
    expect(r.metadata.generation_id).toBe(idOf(0, logId));
    expect(run1.images).toEqual([{ sha256: sha, bytes: png.length }]);
    expect(r.outcome).toBe('accepted');
    expect(links(r)).toEqual(['generation_completed:determined:1', 'feedback:named:1']);

    const run2 = await run([...start(0, b64), m(20, msg.completed(2000)), m(30, msg.oldFeedback(7, b64, '0.0'))]);
    expect(run2.records.map((x) => [x.task.log_id, x.outcome])).toEqual([[logId, 'rejected']]);
    expect(links(run2.records[0]!)).toEqual(['generation_completed:determined:1', 'feedback:named:1']);
  });

  test('image not stored when storeImages is off: blobs_skipped says so', async () => {
    const png = smallPng(3);
    const { records, images } = await run([...start(0, png.toString('base64')), m(20, msg.completed(2000))], { options: { storeImages: false } });
    expect(images).toEqual([]);
    expect(records[0]!.task.image_file_path).toBeNull();
    expect(records[0]!.provenance.blobs_skipped).toEqual([{ kind: 'image', reason: 'disabled', hash: `sha256:${sha256Hex(png)}` }]);
  });

  test('Task received line lost: the generating line alone opens the task, marked incomplete', async () => {
    const { records } = await run([m(0.1, msg.generating('a red chair')), m(20, msg.completed(1000)), m(30, msg.feedback(7, '0.9', 'a red chair'))]);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r.metadata.timestamp).toBe(iso(0.1));
    expect(r.metadata.generation_id).toBe(idOf(0.1, 'a red chair'));
    expect(r.outcome).toBe('accepted');
    expect(r.generation.timing.total_time).toBe(19.9);
    expect(r.provenance.incomplete).toBe(true);
    expect(r.provenance.incomplete_reasons).toEqual(['task_received_line_lost']);
    expect(events(r)).toEqual(['generating', 'generation_completed', 'feedback']);
  });

  test('Generating line lost: the end goes to the received task, marked incomplete, no total time', async () => {
    const { records } = await run([m(0, msg.received('a red chair')), m(20, msg.completed(1000)), m(30, msg.feedback(7, '0.9', 'a red chair'))]);
    const r = records[0]!;
    expect(r.outcome).toBe('accepted');
    expect(r.generation.timing.total_time).toBeNull();
    expect(r.provenance.incomplete_reasons).toEqual(['generating_line_lost']);
  });

  test('a miner restart interrupts the open tasks (a failed one stays generation_failed) and is a miner event', async () => {
    const { records, tracker } = await run(
      [
        ...start(0, 'a red chair'),
        ...start(1, 'a blue lamp'),
        m(5, msg.failed(500), 'ERROR'), // to the oldest generating task: a red chair
        m(60, 'Starting with config: ', 'INFO'),
        raw(MINER, 'wallet:'),
        raw(MINER, '  name: sn17-cold'),
        raw(MINER, '  hotkey: sn17-hot-01'),
        ...start(70, 'a green cup'),
      ],
      { finish: false },
    );
    expect(records.map((r) => [r.task.prompt, r.outcome, r.failure_analysis.error_type, r.provenance.incomplete_reasons])).toEqual([
      ['a red chair', 'generation_failed', 'generation_http_error', []],
      ['a blue lamp', 'interrupted', 'miner_restarted', []],
    ]);
    const lamp = recordOf(records, 'a blue lamp');
    expect(lamp.failure_analysis).toEqual({
      failed: true,
      error_type: 'miner_restarted',
      error_message: 'the miner restarted before the task finished',
      stack_trace: null,
    });
    expect(events(lamp)).toEqual(['task_received', 'generating', 'miner_started']);
    expect(tracker.drainMinerEvents().map((e) => [e.event, e.time])).toEqual([['miner_restarted', iso(60)]]);
    expect(tracker.openTasks).toBe(1);
  });

  test('the miner silent from before a feedback deadline until it starts again: interrupted, miner_restarted, not no_feedback', async () => {
    // stopped some time after 20 s: whether it lived to 620 s (the deadline) nothing says
    const lines = [...start(0, 'a red chair'), m(20, msg.completed(1000)), m(30, STATS, 'INFO'), m(700, 'Starting with config: ', 'INFO')];
    const { records } = await run(lines, { finish: false, options: { feedbackTimeoutMs: 600_000 } });
    expect(records.map((r) => [r.outcome, r.failure_analysis.error_type, r.provenance.incomplete_reasons])).toEqual([['interrupted', 'miner_restarted', []]]);
    // alive past the deadline (its status line at 621 s), then restarted: the feedback did not come in time
    const alive = await run([...lines.slice(0, 4), m(621, STATS, 'INFO'), lines[4]!], { finish: false, options: { feedbackTimeoutMs: 600_000 } });
    expect(alive.records.map((r) => [r.outcome, r.failure_analysis.error_type])).toEqual([['no_feedback', null]]);
  });

  test('the miner silent a whole feedback timeout past the deadline, with no start: interrupted, miner_silent', async () => {
    const t = await makeTracker({ feedbackTimeoutMs: 600_000 });
    feed(t.tracker, toEvents([...start(0, 'a red chair'), m(20, msg.completed(1000)), m(30, STATS, 'INFO')]));
    t.tracker.tick(at(1220));
    expect(t.tracker.drainRecords()).toHaveLength(0);
    t.tracker.tick(at(1220.001));
    const r = t.tracker.drainRecords().map((f) => f.record);
    expect(r.map((x) => [x.outcome, x.provenance.incomplete_reasons, x.generation.output.file_size_bytes])).toEqual([['interrupted', ['miner_silent'], 1000]]);
  });

  test('a completed generation still waiting for feedback when the miner restarts: interrupted, miner_restarted', async () => {
    const { records } = await run([...start(0, 'a red chair'), m(20, msg.completed(1000)), m(25, 'Starting with config: ', 'INFO')], { finish: false });
    expect(records.map((r) => [r.outcome, r.failure_analysis.error_type, r.generation.output.file_size_bytes])).toEqual([
      ['interrupted', 'miner_restarted', 1000],
    ]);
  });

  test('an end line and a restart in one batch (ingest defers solving to its end): the end is the open task\'s', async () => {
    // two endpoints, so the end names no task; only the lamp is still generating when it comes
    const t = await makeTracker({ endpoints: ENDPOINTS });
    const lines = [
      ...start(0, 'a red chair'),
      ...start(1, 'a blue lamp'),
      m(10, msg.completed(1000)),
      m(12, msg.feedback(7, '0.9', 'a red chair')),
      m(20, msg.completed(2000)),
      // within the second: no tick solves in between
      m(20.5, 'Starting with config: ', 'INFO'),
    ];
    t.tracker.deferAttribution(true);
    feed(t.tracker, toEvents(lines));
    t.tracker.deferAttribution(false);
    t.tracker.finishAll('input_ended');
    const records = t.tracker.drainRecords().map((f) => f.record);
    const lamp = recordOf(records, 'a blue lamp');
    expect([lamp.outcome, lamp.generation.output.file_size_bytes]).toEqual(['interrupted', 2000]);
    expect(links(lamp)).toContain('generation_completed:determined:1');
    expect(t.tracker.counters.eventsWithoutTask).toBe(0);
  });

  test('the same prompt handed out again after a restart is a new task with its own id; the feedback goes to it', async () => {
    const { records } = await run([
      ...start(0, 'a red chair'),
      m(60, 'Starting with config: ', 'INFO'),
      ...start(70, 'a red chair'),
      m(90, msg.completed(1000)),
      m(95, msg.feedback(7, '0.9', 'a red chair')),
    ]);
    expect(records.map((r) => [r.metadata.generation_id, r.outcome])).toEqual([
      [idOf(0, 'a red chair'), 'interrupted'],
      [idOf(70, 'a red chair'), 'accepted'],
    ]);
  });

  test('task timeout: a task still generating after taskTimeoutMs is interrupted by tick', async () => {
    const t = await makeTracker({ taskTimeoutMs: 1_800_000 });
    feed(t.tracker, toEvents(start(0, 'a red chair')));
    t.tracker.tick(at(1800));
    expect(t.tracker.drainRecords()).toHaveLength(0);
    t.tracker.tick(at(1800.001));
    const [f] = t.tracker.drainRecords();
    expect(f!.record.outcome).toBe('interrupted');
    expect(f!.record.provenance.incomplete_reasons).toEqual(['task_timeout']);
    expect(f!.record.failure_analysis.failed).toBe(false);
    expect(t.tracker.openTasks).toBe(0);
  });

  test('finishAll at the end of an input: each open task as it stands', async () => {
    const t = await makeTracker();
    feed(
      t.tracker,
      toEvents([
        ...start(0, 'generating'),
        ...start(1, 'completed'),
        ...start(2, 'failed'),
        ...start(3, 'with feedback'),
        m(10, msg.completed(1000)), // -> generating (the oldest)
        m(11, msg.completed(1000)), // -> completed
        m(12, msg.failed(500), 'ERROR'), // -> failed
        m(13, msg.completed(1000)), // -> with feedback
        m(20, msg.feedback(7, '0.9', 'with feedback')),
        ...start(30, 'still open'),
      ]),
    );
    // its end is one of four that any of the four generating tasks could have sent: it waits for them
    expect(t.tracker.drainRecords()).toHaveLength(0);
    t.tracker.finishAll('input_ended');
    const rows = t.tracker.drainRecords().map((f) => [f.record.task.prompt, f.record.outcome, f.record.provenance.incomplete_reasons]);
    expect(rows).toEqual([
      ['still open', 'interrupted', ['input_ended']],
      ['with feedback', 'accepted', []],
      ['generating', 'interrupted', ['input_ended']],
      ['completed', 'interrupted', ['input_ended']],
      // failed, but its feedback was cut off: a later run that sees it outranks this version
      ['failed', 'generation_failed', ['input_ended']],
    ]);
    expect(t.tracker.openTasks).toBe(0);
  });

  test('finishAll closes a feedback still waiting for its detail line', async () => {
    const t = await makeTracker();
    feed(t.tracker, toEvents(acceptedTask(0, 'a red chair')));
    expect(t.tracker.drainRecords()).toHaveLength(0);
    t.tracker.finishAll('input_ended');
    const [f] = t.tracker.drainRecords();
    expect(f!.record.outcome).toBe('accepted');
    expect(f!.record.provenance.incomplete_reasons).toEqual([]);
  });

  test('ids are stable across two runs; one record per task; the same prompt at the same time text counts occurrences', async () => {
    const lines: Line[] = [
      ...acceptedTask(0, 'a red chair', { detail: true }),
      ...acceptedTask(40, 'a blue lamp', { score: '0.0' }),
      ...acceptedTask(80, 'a red chair'),
      m(120, msg.received('twice')),
      m(120, msg.received('twice')),
    ];
    const a = await run(lines);
    const b = await run(lines);
    const ids = a.records.map((r) => r.metadata.generation_id);
    expect(b.records.map((r) => r.metadata.generation_id)).toEqual(ids);
    expect(new Set(ids).size).toBe(5);
    expect(ids).toEqual([idOf(0, 'a red chair'), idOf(40, 'a blue lamp'), idOf(80, 'a red chair'), idOf(120, 'twice', 0), idOf(120, 'twice', 1)]);
    expect(a.records.map((r) => r.outcome)).toEqual(['accepted', 'rejected', 'accepted', 'interrupted', 'interrupted']);
    expect(a.tracker.counters).toMatchObject({ tasksStarted: 5, recordsFinished: 5 });
  });

  test('a validator queried just before the pull gives the task its uid, and the configured hotkey', async () => {
    const { records } = await run([m(-1, msg.querying(12, '52345.1')), ...start(0, 'a red chair'), m(20, msg.completed(1000))], {
      options: { validatorHotkeys: { '12': HOTKEY } },
    });
    expect(records[0]!.metadata).toMatchObject({ validator_uid: 12, validator_hotkey: HOTKEY });
  });

  test('old task line with a version: the miner version comes from it when none is configured', async () => {
    const { records } = await run([m(0, 'Task received. Prompt: a red chair. Version: 1.4.2'), m(0.1, msg.generating('a red chair'))]);
    expect(records[0]!.task.prompt).toBe('a red chair');
    expect(records[0]!.metadata.miner_version).toBe('1.4.2');
  });

  test('the worker rejected its result before submission (custom worker line), then the miner\'s failure line', async () => {
    const { records } = await run(
      [
        ...start(0, 'a red chair'),
        w(W1, 5, 'Rejected before submission: clip_below_threshold', 'WARNING', 'serve:generate:127'),
        m(6, msg.failed(422), 'ERROR'),
        m(7, msg.feedback(7, '0.0', 'a red chair')),
      ],
      { rules: CUSTOM_RULES },
    );
    const r = records[0]!;
    expect(r.outcome).toBe('generation_failed');
    expect(r.failure_analysis).toEqual({
      failed: true,
      error_type: 'pre_submission_rejection',
      error_message: 'Generation failed with code: 422',
      stack_trace: null,
    });
    expect(r.generation.submission).toEqual({
      submitted: true,
      submission_time: iso(6),
      pre_submission_rejection: true,
      rejection_reason: 'clip_below_threshold',
    });
    expect(links(r)).toEqual(['pre_submission_rejection:determined:1', 'generation_failed:determined:1', 'feedback:named:1']);
  });

  test('the worker\'s rejection line without the miner\'s failure line: failed from the worker\'s word when the feedback comes', async () => {
    const { records } = await run(
      [...start(0, 'a red chair'), w(W1, 5, 'Rejected before submission: clip_below_threshold', 'WARNING', 'serve:generate:127'), m(7, msg.feedback(7, '0.0', 'a red chair'))],
      { rules: CUSTOM_RULES },
    );
    const r = records[0]!;
    expect(r.outcome).toBe('generation_failed');
    expect(r.failure_analysis).toMatchObject({ error_type: 'pre_submission_rejection', error_message: 'rejected before submission: clip_below_threshold' });
    expect(r.provenance.incomplete_reasons).toEqual(['generation_end_not_seen']);
  });

  test('a worker rule that sets only the rejection reason still marks the pre-submission rejection', async () => {
    const rules = compileRules(DEFAULT_RULES, {
      rules: [
        {
          name: 'my_reject',
          source: 'worker',
          event: 'worker_reject',
          prefix: 'REJECT ',
          pattern: '^REJECT (?<reason>\\S+)$',
          set: { 'generation.submission.rejection_reason': '$reason' },
        },
      ],
    });
    const { records } = await run([...start(0, 'a red chair'), w(W1, 5, 'REJECT too_few_gaussians'), m(7, msg.feedback(7, '0.0', 'a red chair'))], { rules });
    expect(records[0]!.generation.submission).toMatchObject({ pre_submission_rejection: true, rejection_reason: 'too_few_gaussians' });
    expect(records[0]!.failure_analysis.error_type).toBe('pre_submission_rejection');
  });

  test('a damaged "Task received" line (PM2 cut it) lends its time to the task its generating line opens', async () => {
    const [rec, ...rest] = toEvents([m(0, msg.received('a red chair')), m(0.5, msg.generating('a red chair')), m(20, msg.completed(1000))]);
    const t = await makeTracker();
    feed(t.tracker, [{ ...rec!, damaged: true, fields: {}, long: null }, ...rest]);
    t.tracker.finishAll('input_ended');
    const r = t.tracker.drainRecords()[0]!.record;
    expect(r.metadata.timestamp).toBe(iso(0));
    expect(r.metadata.generation_id).toBe(idOf(0.5, 'a red chair')); // the id still comes from the line that opened it
    expect(r.provenance.incomplete_reasons).toEqual(['task_received_line_lost', 'input_ended']);
    expect(r.generation.timing.total_time).toBe(19.5);
    expect(t.tracker.counters.damagedEvents).toBe(1);
  });

  test('a damaged "Generating" line starts the only waiting task (no source kept)', async () => {
    const [rec, gen, ...rest] = toEvents([m(0, msg.received('a red chair')), m(2, msg.generating('a red chair')), m(20, msg.completed(1000))]);
    const t = await makeTracker();
    feed(t.tracker, [rec!, { ...gen!, damaged: true, fields: {}, long: null }, ...rest]);
    t.tracker.finishAll('input_ended');
    const r = t.tracker.drainRecords()[0]!.record;
    expect(r.generation.timing.total_time).toBe(18);
    expect(events(r)).toEqual(['task_received', 'generation_completed']);
    expect(links(r)).toEqual(['generation_completed:determined:1']);
  });

  test('identity: the uid and the network from the startup lines go into the records of later tasks', async () => {
    const { records } = await run([
      m(-3, 'Connected to test network and wss://test.finney.opentensor.ai:443/', 'INFO'),
      m(-2, 'Miner | UID:41 | Block:4512345 | Stake:1.5 | Trust:0 | Incentive:0.01 | Emission:0.2', 'INFO'),
      ...start(0, 'a red chair'),
    ]);
    expect(records[0]!.metadata).toMatchObject({ miner_uid: 41, network: 'testnet' });
  });

  test('orphan feedback (task never seen): an incomplete record from the log id alone', async () => {
    const { records, finished, tracker } = await run([m(30, msg.feedback(7, '0.9', 'a ghost chair')), m(30.001, msg.detail('0.7', '1500', 3, '0.01'))]);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r.metadata.generation_id).toBe(idOf(30, 'a ghost chair'));
    expect(r.metadata.timestamp).toBe(iso(30));
    expect(r.task).toMatchObject({ task_type: 'TEXT-TO-3D', prompt: 'a ghost chair', prompt_length: 13, log_id: 'a ghost chair', is_base64_image: false });
    expect(r.outcome).toBe('accepted');
    expect(r.provenance.incomplete_reasons).toEqual(['task_not_seen']);
    expect(r.provenance.links).toEqual([]);
    expect(r.generation.submission).toMatchObject({ submitted: true, submission_time: null });
    expect(r.validator_feedback.feedback_delay_seconds).toBeNull();
    expect(finished[0]!.supersedesIfPresent).toEqual([]);
    expect(tracker.counters.feedbackWithoutTask).toBe(1);
  });

  test('orphan feedback of an image task and of a long text: the type from the log id, no prompt', async () => {
    const imageId = 'image:' + 'ab'.repeat(32);
    const textId = 'x'.repeat(97) + '...';
    const { records } = await run([m(30, msg.feedback(7, '0.0', imageId)), m(31, msg.feedback(8, '0.0', textId))]);
    expect(records.map((r) => [r.task.task_type, r.task.prompt, r.task.is_base64_image, r.outcome])).toEqual([
      ['IMAGE-TO-3D', null, true, 'rejected'],
      ['TEXT-TO-3D', null, false, 'rejected'],
    ]);
  });
});

/** Custom-worker request lines bind each task to its worker by the prompt's length. */
const request = (spec: typeof W1, s: number, prompt: string): Line =>
    w(spec, s, `Request received: text prompt (${[...prompt].length} chars)`, 'INFO', 'serve:generate:88');

describe('two endpoints', () => {
  test('a task the miner abandoned (it restarted) waits for its worker\'s late answer only until every worker it may have run on answered since', async () => {
    const t = await makeTracker({ endpoints: {}, workerGroups: ['g1', 'g2'] });
    const upstream = (spec: typeof W1, s: number, x: string) => w(spec, s, x, 'INFO', '__main__:generate:52');
    const answer = (spec: typeof W1, s: number, took: number): Line[] => [
      upstream(spec, s - 0.05, ` Generation took: ${(took - 0.05) / 60} min`),
      upstream(spec, s, ` Saving and encoding took: ${0.05 / 60} min`),
    ];
    const startup = (s: number): Line[] => [
      m(s, 'Starting with config: ', 'INFO'),
      m(s + 0.009, 'Running neuron on subnet 17 with uid 42 using network: wss://entrypoint-finney.opentensor.ai:443', 'INFO'),
      m(s + 0.011, 'Worker (http://127.0.0.1:8093) started', 'INFO'),
      m(s + 0.012, 'Worker (http://127.0.0.1:8094) started', 'INFO'),
    ];
    const written = (upTo: Line[]) => {
      feed(t.tracker, toEvents(upTo));
      return t.tracker.drainRecords().map((f) => f.record.task.prompt);
    };
    // the chair is generating on a worker its lines do not name when the miner restarts
    expect(written([...startup(0), ...start(1, 'a red chair'), ...startup(2)])).toEqual([]);
    // after the restart worker 1 answers a request it began after it (the lamp's): worker 2 may still be at the chair
    expect(written([...start(2.1, 'a blue lamp'), ...answer(W1, 3, 0.8), m(3.01, msg.completed(1000))])).toEqual([]);
    t.tracker.tick(at(60));
    expect(t.tracker.drainRecords()).toHaveLength(0);
    // worker 2 answers (the chair's request: its worker went on): nothing the miner abandoned can still come
    feed(t.tracker, toEvents(answer(W2, 61, 59.9)));
    const records = t.tracker.drainRecords().map((f) => f.record);
    expect(records.map((r) => [r.task.prompt, r.outcome, links(r)])).toEqual([['a red chair', 'interrupted', ['worker_metrics:determined:1', 'worker_metrics:determined:1']]]);
  });

  test('an end line is not the end of a task whose generating line came after it, however close: both are the miner\'s, one clock', async () => {
    const t = await makeTracker({ endpoints: ENDPOINTS });
    // solved once, with the lamp already known (a batch whose ticks found nothing due)
    t.tracker.deferAttribution(true);
    for (const e of toEvents([...start(0, 'a red chair'), m(5, msg.completed(1000)), m(5.02, msg.received('a blue lamp')), m(5.03, msg.generating('a blue lamp'))])) t.tracker.push(e);
    t.tracker.deferAttribution(false);
    t.tracker.finishAll('input_ended');
    const records = t.tracker.drainRecords().map((f) => f.record);
    expect(links(recordOf(records, 'a red chair'))).toEqual(['generation_completed:determined:1']);
    expect(recordOf(records, 'a red chair').generation.output.file_size_bytes).toBe(1000);
    expect(recordOf(records, 'a blue lamp').generation.output.file_size_bytes).toBeNull();
  });

  const two = { endpoints: ENDPOINTS };

  test('worker lines bind a task to its worker group (custom worker: the prompt length names the task)', async () => {
    const { records, tracker } = await run(
      [
        ...start(0, 'a red chair'),
        ...start(1, 'a big blue lamp'),
        request(W2, 1.2, 'a big blue lamp'),
        request(W1, 1.3, 'a red chair'),
        w(W2, 10, 'TRELLIS done in 8.50s (sparse_steps=45, slat_steps=35)'),
        w(W1, 12, 'TRELLIS done in 11.25s (sparse_steps=30, slat_steps=20)'),
      ],
      { rules: CUSTOM_RULES, options: two },
    );
    const chair = recordOf(records, 'a red chair');
    const lamp = recordOf(records, 'a big blue lamp');
    expect(chair.generation.timing.trellis_time).toBe(11.25);
    expect(chair.miner_config.trellis_sparse_steps).toBe(30);
    expect(lamp.generation.timing.trellis_time).toBe(8.5);
    expect(lamp.miner_config.trellis_sparse_steps).toBe(45);
    expect(links(chair)).toEqual(['worker_request:determined:1', 'worker_metrics:determined:1']);
    expect(links(lamp)).toEqual(['worker_request:determined:1', 'worker_metrics:determined:1']);
    expect(chair.provenance.sources.filter((s) => s.event.startsWith('worker')).map((s) => s.file)).toEqual([W1.file, W1.file]);
    expect(tracker.counters.eventsWithoutTask).toBe(0);
  });

  test('a file a best fit gave to a long task does not make a later file on that worker sure: it was only the guess that kept the other task off it', async () => {
    const t = await makeTracker({ endpoints: ENDPOINTS, outputGroups: ['g1', 'g2'] });
    const lines: Line[] = [
      ...start(0, 'a red chair'),
      ...start(0.5, 'a blue lamp'),
      m(2, msg.completed(1000)),
      m(3, msg.feedback(7, '0.8', 'a red chair')),
      // the cup starts while the lamp still generates: on worker 1 only if the chair, not the lamp, was there
      ...start(4, 'a green cup'),
      m(130, msg.completed(1000)),
      m(131, msg.feedback(7, '0.8', 'a blue lamp')),
      ...start(131.05, 'a white vase'),
      m(140, msg.completed(1000)),
      m(141, msg.feedback(7, '0.8', 'a green cup')),
      m(150, msg.completed(1000)),
      m(151, msg.feedback(7, '0.8', 'a white vase')),
    ];
    // worker 1 wrote a file while the chair and the lamp generated, and one while the cup and the vase did
    const files = [outputFile('g1', 'first.ply', 1.5, 1000), outputFile('g1', 'second.ply', 135, 1000)];
    for (const e of toEvents(lines)) {
      while (files.length && files[0]!.timeMs <= e.timeMs) t.tracker.pushOutput(files.shift()!);
      t.tracker.tick(e.timeMs);
      t.tracker.push(e);
    }
    // the first file waits 2 min for evidence, then goes to its best fit (the lamp, still open then)
    t.tracker.finishAll('input_ended');
    const records = t.tracker.drainRecords().map((f) => f.record);
    const plyLinks = (p: string) => links(recordOf(records, p)).filter((l) => l.startsWith('ply_written'));
    expect(plyLinks('a blue lamp')).toEqual(['ply_written:inferred:2']);
    // the second is the cup's if the first was the chair's: the logs leave both
    expect([...plyLinks('a green cup'), ...plyLinks('a white vase')]).toEqual(['ply_written:inferred:2']);
  });

  /** Upstream's worker answering at `atS` a request it says took `tookS` (the last 0.3 s saving). */
  const answer = (spec: typeof W1, atS: number, tookS: number): Line[] => [
    w(spec, atS - 0.3, ` Generation took: ${(tookS - 0.3) / 60} min`, 'INFO', '__main__:generate:52'),
    w(spec, atS, ` Saving and encoding took: ${0.3 / 60} min`, 'INFO', '__main__:generate:52'),
  ];
  /** Two tasks received and generating 1 ms apart. */
  const tiedPair: Line[] = [
    m(0, msg.received('a red chair')),
    m(0.001, msg.received('a blue lamp')),
    m(0.1, msg.generating('a red chair')),
    m(0.101, msg.generating('a blue lamp')),
  ];
  /** The miner's run announcing both endpoints: two loops. */
  const twoLoops: Line[] = [m(-0.01, `Worker (${URL1}) started`, 'INFO'), m(-0.009, `Worker (${URL2}) started`, 'INFO')];
  /**
   * Two loops (the run announces two endpoints), the tied pair answered by W1 then W2 (each [answer s,
   * took s]; the end line 2 ms after), the lamp's then the chair's feedback, and the cup, whose
   * validator (uid 9, named by its feedback) was queried at `cupQueried`, answered by `next`.
   */
  const pairThenQueriedCup = (
    next: typeof W1,
    t: { answers: [[number, number], [number, number]]; lampFed: number; cupQueried: number; chairFed: number; cupReceived: number; cupAnswer: [number, number] },
  ): Line[] => [
    ...twoLoops,
    ...tiedPair,
    ...answer(W1, ...t.answers[0]),
    m(t.answers[0][0] + 0.002, msg.completed(1000)),
    ...answer(W2, ...t.answers[1]),
    m(t.answers[1][0] + 0.002, msg.completed(2000)),
    m(t.lampFed, msg.feedback(8, '0.8', 'a blue lamp')),
    m(t.cupQueried, msg.querying(9, '1000.0')),
    m(t.chairFed, msg.feedback(7, '0.9', 'a red chair')),
    m(t.cupReceived, msg.received('a green cup')),
    m(t.cupReceived + 0.05, msg.generating('a green cup')),
    ...answer(next, ...t.cupAnswer),
    m(t.cupAnswer[0] + 0.002, msg.completed(3000)),
    m(t.cupAnswer[0] + 1.5, msg.feedback(9, '0.7', 'a green cup')),
  ];

  test('two tasks pulled in the same instant, their workers\' timings alike: the loop a feedback freed pulls the next task, whose worker tells the fed task\'s', async () => {
    const lines = (next: typeof W1): Line[] => [
      ...tiedPair,
      // each worker began 0.1 s in: which task each served, the timings cannot tell
      ...answer(W1, 1.3, 1.2),
      m(1.302, msg.completed(1000)),
      ...answer(W2, 2.3, 2.2),
      m(2.302, msg.completed(2000)),
      // both loops are free by 3 s; the chair's feedback comes last, and 20 ms later a loop pulls the
      // cup: most likely the chair's, so the cup's worker is the chair's
      m(2.9, msg.feedback(8, '0.8', 'a blue lamp')),
      m(3, msg.feedback(7, '0.9', 'a red chair')),
      m(3.02, msg.received('a green cup')),
      m(3.05, msg.generating('a green cup')),
      ...answer(next, 4.3, 1.25),
      m(4.302, msg.completed(3000)),
      m(6, msg.feedback(7, '0.7', 'a green cup')),
    ];
    for (const [next, chairBytes] of [[W1, 1000], [W2, 2000]] as const) {
      const { records } = await run(lines(next), { options: two });
      const chair = recordOf(records, 'a red chair');
      const lamp = recordOf(records, 'a blue lamp');
      expect([chair.generation.output.file_size_bytes, lamp.generation.output.file_size_bytes]).toEqual([chairBytes, 3000 - chairBytes]);
      expect(recordOf(records, 'a green cup').generation.output.file_size_bytes).toBe(3000);
      // nothing makes it sure: another loop may have pulled the cup
      expect(links(chair)).toContain('generation_completed:inferred:2');
    }
  });

  test('the next task\'s query line came before the other loop was free: that task is on the freed loop, and its worker tells the fed task\'s', async () => {
    // as above, but the cup's validator (uid 9, named by its feedback) was queried at 2.95 s: before the
    // chair's feedback freed its loop, so only the lamp's loop (free at 2.9 s; the miner runs two) can have pulled the cup
    const lines = (next: typeof W1): Line[] =>
      pairThenQueriedCup(next, { answers: [[1.3, 1.2], [2.3, 2.2]], lampFed: 2.9, cupQueried: 2.95, chairFed: 3, cupReceived: 3.02, cupAnswer: [4.3, 1.25] });
    for (const [next, lampBytes] of [[W1, 1000], [W2, 2000]] as const) {
      const { records } = await run(lines(next), { options: two });
      const chair = recordOf(records, 'a red chair');
      const lamp = recordOf(records, 'a blue lamp');
      expect([lamp.generation.output.file_size_bytes, chair.generation.output.file_size_bytes]).toEqual([lampBytes, 3000 - lampBytes]);
      expect(links(lamp)).toContain('generation_completed:determined:1');
      expect(links(chair)).toContain('generation_completed:determined:1');
    }
  });

  test('a crowded window does not settle by best fit an event whose tasks are all closed: it waits for what their loops do next', async () => {
    // both workers took 2.1 s, begun 0.05 and 0.15 s after two generating lines 1 ms apart: either
    // pairing fits. The cup, queried after the lamp's feedback and before the chair's, is on the lamp's loop
    const lines = (next: typeof W1): Line[] =>
      pairThenQueriedCup(next, { answers: [[2.25, 2.1], [2.35, 2.1]], lampFed: 2.36, cupQueried: 2.37, chairFed: 2.4, cupReceived: 2.45, cupAnswer: [3.5, 0.95] });
    for (const [next, lampBytes] of [[W1, 1000], [W2, 2000]] as const) {
      // room for 2 open events; the pair's four are solved first together, in one read up to the cup's
      // received line (as ingest solves a read's lines at its end), when both tasks are closed
      const { tracker } = await makeTracker({ ...two, maxOpenEvents: 2 });
      const events = toEvents(lines(next));
      const cut = events.findIndex((e) => e.timeMs > at(2.45));
      tracker.deferAttribution(true);
      feed(tracker, events.slice(0, cut));
      tracker.deferAttribution(false);
      feed(tracker, events.slice(cut));
      tracker.finishAll('input_ended');
      const records = tracker.drainRecords().map((f) => f.record);
      const lamp = recordOf(records, 'a blue lamp');
      expect([lamp.generation.output.file_size_bytes, recordOf(records, 'a red chair').generation.output.file_size_bytes]).toEqual([lampBytes, 3000 - lampBytes]);
      expect(links(lamp)).toContain('generation_completed:determined:1');
    }
  });

  test('a worker answered and the miner\'s end line for it was lost: that task says so, and the later tasks keep their ends', async () => {
    const upstream = (spec: typeof W1, s: number, genMin: number): Line[] => [
      w(spec, s, ` Generation took: ${genMin} min`, 'INFO', '__main__:generate:52'),
      w(spec, s + 0.4, ' Saving and encoding took: 0.0066 min', 'INFO', '__main__:generate:52'),
    ];
    const { records, tracker } = await run(
      [
        ...start(0, 'a red chair'),
        // the chair's worker answers at 20.4 s; its "Generation completed" line never reaches the log
        ...upstream(W1, 20, 0.33),
        ...start(25, 'a blue lamp'),
        ...upstream(W2, 45, 0.33),
        m(45.402, msg.completed(2000)),
        m(46, msg.feedback(7, '0.8', 'a blue lamp')),
        // the lamp's loop pulls the next task
        ...start(47, 'a green cup'),
        ...upstream(W2, 60, 0.21),
        m(60.402, msg.completed(3000)),
        m(61, msg.feedback(7, '0.7', 'a green cup')),
        m(70, msg.feedback(7, '0.9', 'a red chair')),
      ],
      { options: two },
    );
    const lamp = recordOf(records, 'a blue lamp');
    const cup = recordOf(records, 'a green cup');
    expect([lamp.generation.output.file_size_bytes, cup.generation.output.file_size_bytes]).toEqual([2000, 3000]);
    expect(links(lamp)).toContain('generation_completed:determined:1');
    expect(links(cup)).toContain('generation_completed:determined:1');
    expect(links(cup)).toContain('worker_metrics:determined:1');
    // the chair keeps its worker's figures and says its end was not seen
    const chair = recordOf(records, 'a red chair');
    expect(chair.generation.output.file_size_bytes).toBeNull();
    expect(links(chair)).toEqual(['worker_metrics:determined:1', 'worker_metrics:determined:1', 'feedback:named:1']);
    expect(chair.provenance.incomplete_reasons).toContain('generation_end_not_seen');
    expect(tracker.counters.eventsWithoutTask).toBe(0);
  });

  test('an endpoint error that names its URL goes to the task known to run there', async () => {
    const { records } = await run(
      [
        ...start(0, 'a red chair'),
        ...start(1, 'a big blue lamp'),
        request(W1, 0.2, 'a red chair'),
        request(W2, 1.2, 'a big blue lamp'),
        m(5, msg.unreachable(URL2), 'ERROR'),
        m(20, msg.completed(1000)),
      ],
      { rules: CUSTOM_RULES, options: two },
    );
    const chair = recordOf(records, 'a red chair');
    const lamp = recordOf(records, 'a big blue lamp');
    expect(lamp.failure_analysis.error_type).toBe('endpoint_unreachable');
    expect(lamp.failure_analysis.error_message).toBe(`Failed to connect to the endpoint: ${URL2}`);
    expect(links(lamp)).toEqual(['worker_request:determined:1', 'endpoint_unreachable:determined:1']);
    // the only task left generating takes the unnamed end line
    expect(chair.failure_analysis.failed).toBe(false);
    expect(chair.generation.output.file_size_bytes).toBe(1000);
    expect(links(chair)).toEqual(['worker_request:determined:1', 'generation_completed:determined:1']);
  });

  test('an endpoint error goes to the task known to run there even when an older task has no known endpoint', async () => {
    const { records } = await run(
      [...start(0, 'a red chair'), ...start(1, 'a big blue lamp'), request(W2, 1.2, 'a big blue lamp'), m(5, msg.timedOut(URL2), 'ERROR')],
      { rules: CUSTOM_RULES, options: two },
    );
    expect(recordOf(records, 'a big blue lamp').failure_analysis.error_type).toBe('endpoint_timeout');
    expect(links(recordOf(records, 'a big blue lamp'))).toEqual(['worker_request:determined:1', 'endpoint_timeout:determined:1']);
    expect(recordOf(records, 'a red chair').failure_analysis.failed).toBe(false);
  });

  test('the configured endpoint and the logged URL match up to trailing slashes', async () => {
    const { records } = await run(
      [...start(0, 'a red chair'), ...start(1, 'a big blue lamp'), request(W2, 1.2, 'a big blue lamp'), m(5, msg.timedOut(URL2), 'ERROR')],
      { rules: CUSTOM_RULES, options: { endpoints: { 'http://127.0.0.1:8093/generate': 'g1', 'http://127.0.0.1:8094/generate//': 'g2' } } },
    );
    expect(links(recordOf(records, 'a big blue lamp'))).toEqual(['worker_request:determined:1', 'endpoint_timeout:determined:1']);
  });

  test('an endpoint error binds the task to that endpoint: a later line of its worker comes to it', async () => {
    const { records } = await run(
      [...start(0, 'a red chair'), m(5, msg.timedOut(URL2), 'ERROR'), w(W2, 6.5, ' Generation took: 0.1 min', 'INFO', '__main__:generate:52')],
      { options: two },
    );
    const r = records[0]!;
    expect(r.failure_analysis.error_type).toBe('endpoint_timeout');
    expect(r.generation.timing.generation_time).toBe(6);
    expect(links(r)).toEqual(['endpoint_timeout:determined:1', 'worker_metrics:determined:1']);
  });

  test('a feedback line names one of two generating tasks: that one, exact (its end never seen)', async () => {
    const { records } = await run([...start(0, 'a red chair'), ...start(1, 'a blue lamp'), m(30, msg.feedback(7, '0.9', 'a blue lamp'))], { options: two });
    const lamp = recordOf(records, 'a blue lamp');
    expect(lamp.outcome).toBe('accepted');
    expect(links(lamp)).toEqual(['feedback:named:1']);
    expect(lamp.provenance.incomplete_reasons).toEqual(['generation_end_not_seen']);
    expect(recordOf(records, 'a red chair').outcome).toBe('interrupted');
  });

  test('tasks closed by a best fit stop clouding later events once other tasks surely held every loop', async () => {
    const HOTKEY2 = '5DvTpiniW9s3APmHRYn8FroUWyfnLtrsid5Mtn5EwMXHN2ed';
    const lines: Line[] = [
      ...twoLoops,
      // two failed submits naming validators no config knows: which task each closed is a best fit
      // (made 2 min later), and either task might have lived on (a task may run an hour)
      ...start(0, 'a red chair'),
      ...start(0.001, 'a blue lamp'),
      m(5, msg.completed(1000)),
      m(6, msg.completed(2000)),
      m(7, msg.submitFailed(HOTKEY, 'Request timeout after 300.0 seconds'), 'WARNING'),
      m(7.5, msg.submitFailed(HOTKEY2, 'Request timeout after 300.0 seconds'), 'WARNING'),
      // from 130.01 s two fed tasks held both loops: neither can have lived past then (its file 5 s more)
      ...start(130, 'a green cup'),
      ...start(130.01, 'a grey vase'),
      m(132, msg.completed(3000)),
      m(133, msg.completed(4000)),
      m(134, msg.feedback(7, '0.8', 'a green cup')),
      m(134.5, msg.feedback(8, '0.8', 'a grey vase')),
      ...start(140, 'a white desk'),
      m(145, msg.completed(5000)),
      m(146, msg.feedback(9, '0.8', 'a white desk')),
    ];
    const { records } = await run(lines, { options: two });
    const desk = recordOf(records, 'a white desk');
    expect(desk.generation.output.file_size_bytes).toBe(5000);
    expect(links(desk)).toContain('generation_completed:determined:1');
    expect(links(recordOf(records, 'a red chair'))).toContain('submit_failed:inferred:2');
  });

  test('a submit failure with two candidates waits; the other task\'s feedback resolves it by elimination', async () => {
    const t = await makeTracker(two);
    feed(
      t.tracker,
      toEvents([
        ...start(0, 'a red chair'),
        ...start(1, 'a blue lamp'),
        m(20, msg.completed(1000)), // oldest: a red chair (inferred)
        m(21, msg.completed(2000)), // a blue lamp
        m(300, msg.submitFailed(HOTKEY, 'Request timeout after 300.0 seconds'), 'WARNING'),
      ]),
    );
    expect(t.tracker.drainRecords()).toHaveLength(0);
    expect(t.tracker.openTasks).toBe(2);
    feed(t.tracker, toEvents([m(301, msg.feedback(7, '0.9', 'a red chair'))]));
    const rows = t.tracker.drainRecords().map((f) => f.record);
    expect(rows.map((r) => [r.task.prompt, r.outcome])).toEqual([['a blue lamp', 'submit_failed']]);
    expect(rows[0]!.metadata.validator_hotkey).toBe(HOTKEY);
    expect(links(rows[0]!)).toEqual(['generation_completed:inferred:2', 'submit_failed:determined:1']);
    t.tracker.finishAll('input_ended');
    const chair = t.tracker.drainRecords().map((f) => f.record);
    expect(chair.map((r) => [r.task.prompt, r.outcome])).toEqual([['a red chair', 'accepted']]);
    expect(chair[0]!.provenance.incomplete_reasons).toEqual([]);
  });

  test('a submit failure naming the validator\'s hotkey goes straight to that validator\'s task', async () => {
    const { records } = await run(
      [
        m(-0.5, msg.querying(12, '52345.1')),
        ...start(0, 'a red chair'),
        m(0.5, msg.querying(13, '1200.0')),
        ...start(1, 'a blue lamp'),
        m(20, msg.completed(1000)),
        m(21, msg.completed(2000)),
        m(300, msg.submitFailed(HOTKEY, 'Request timeout after 300.0 seconds'), 'WARNING'),
      ],
      { options: { ...two, validatorHotkeys: { '13': HOTKEY } }, finish: false },
    );
    expect(records.map((r) => [r.task.prompt, r.outcome, r.metadata.validator_uid])).toEqual([['a blue lamp', 'submit_failed', 13]]);
    expect(links(records[0]!)).toEqual(['generation_completed:inferred:2', 'submit_failed:determined:1']);
  });

  test('an exception line naming no endpoint is not taken while two tasks generate', async () => {
    const { records, tracker } = await run(
      [
        ...start(0, 'a red chair'),
        ...start(1, 'a blue lamp'),
        m(5, 'Unhandled failure in generation loop', 'ERROR'),
        raw(MINER, 'Traceback (most recent call last):'),
        raw(MINER, 'RuntimeError: bad state'),
      ],
      { options: two },
    );
    expect(tracker.counters.eventsWithoutTask).toBe(1);
    expect(records.map((r) => r.failure_analysis.failed)).toEqual([false, false]);
  });

  test('orphan feedback among open tasks: its own incomplete record, task_not_seen; the open tasks untouched', async () => {
    const { records, tracker } = await run(
      [...start(0, 'a red chair'), ...start(1, 'a blue lamp'), m(30, msg.feedback(9, '0.0', 'a green cup'))],
      { options: two },
    );
    const cup = recordOf(records, 'a green cup');
    expect(cup.outcome).toBe('rejected');
    expect(cup.metadata.validator_uid).toBe(9);
    expect(cup.provenance.incomplete_reasons).toEqual(['task_not_seen']);
    expect(recordOf(records, 'a red chair').validator_feedback.received).toBe(false);
    expect(tracker.counters.feedbackWithoutTask).toBe(1);
  });
});

describe('output files', () => {
  test('a file written while a task generates on that worker is linked to it; its size rules', async () => {
    const t = await makeTracker({ endpoints: ENDPOINTS, outputGroups: ['g1'] });
    feed(t.tracker, toEvents([...start(0, 'a red chair'), w(W1, 1, ' Generation took: 0.01 min', 'INFO', '__main__:generate:52')]));
    const f = outputFile('g1', 'gen_1762983018_7f3a.ply', 18, 2_500_000);
    const id = t.tracker.pushOutput(f);
    expect(id).toBe(idOf(0, 'a red chair'));
    feed(t.tracker, toEvents([m(20, msg.completed(2_400_000)), m(30, msg.feedback(7, '0.9', 'a red chair'))]));
    t.tracker.finishAll('input_ended');
    const [fin] = t.tracker.drainRecords();
    const r = fin!.record;
    expect(r.generation.output.file_size_bytes).toBe(2_500_000); // the file, not the miner's figure
    expect(r.generation.output.file_size_mb).toBe(2.384186);
    expect(links(r)).toEqual(['worker_metrics:determined:1', 'ply_written:determined:1', 'generation_completed:determined:1', 'feedback:named:1']);
    expect(r.provenance.sources).toContainEqual({ event: 'ply_written', file: f.path, offset: 0 });
    expect(fin!.ply).toEqual({ path: f.path, dir: f.dir, name: f.name, size: 2_500_000, mtimeMs: f.mtimeMs, measured: false });
    expect(t.tracker.counters.outputFilesLinked).toBe(1);
  });

  test('a generation has one output file: a second file on its worker while it generates is not linked to it too', async () => {
    const t = await makeTracker({ endpoints: ENDPOINTS, outputGroups: ['g1'] });
    feed(t.tracker, toEvents([...start(0, 'a red chair'), w(W1, 1, ' Generation took: 0.01 min', 'INFO', '__main__:generate:52')]));
    expect(t.tracker.pushOutput(outputFile('g1', 'one.ply', 18, 2_500_000))).toBe(idOf(0, 'a red chair'));
    expect(t.tracker.pushOutput(outputFile('g1', 'two.ply', 19, 3_000_000))).toBeNull();
    feed(t.tracker, toEvents([m(20, msg.completed(2_500_000)), m(30, msg.feedback(7, '0.9', 'a red chair'))]));
    t.tracker.finishAll('input_ended');
    const [fin] = t.tracker.drainRecords();
    expect(fin!.ply?.name).toBe('one.ply');
    expect(fin!.record.generation.output.file_size_bytes).toBe(2_500_000);
    expect(t.tracker.counters).toMatchObject({ outputFilesLinked: 1, outputFilesWithoutTask: 1 });
  });

  test('a file the loops rule out, in a batch with later lines: that file alone gives way, not the newer end and feedback', async () => {
    const t = await makeTracker({ endpoints: ENDPOINTS, outputGroups: ['g1', 'g2'] });
    const lines = [
      ...start(40, 'a red chair'),
      m(50, msg.completed(1000)),
      ...start(51, 'a blue lamp'),
      m(57, msg.completed(2000)),
      m(58, msg.feedback(7, '0.8', 'a red chair')),
      m(59, msg.feedback(8, '0.9', 'a blue lamp')),
    ];
    // worker 1 wrote the chair's file; then another while the chair's loop was still busy there (its
    // feedback comes at 58), the chair having its own: no task can have written it
    const files = [outputFile('g1', 'one.ply', 49.5, 1000), outputFile('g1', 'two.ply', 56, 3000)];
    t.tracker.deferAttribution(true);
    for (const e of toEvents(lines)) {
      while (files.length && files[0]!.timeMs <= e.timeMs) t.tracker.pushOutput(files.shift()!);
      t.tracker.push(e);
    }
    t.tracker.deferAttribution(false);
    t.tracker.finishAll('input_ended');
    const records = t.tracker.drainRecords().map((f) => f.record);
    const chair = recordOf(records, 'a red chair');
    const lamp = recordOf(records, 'a blue lamp');
    expect(t.tracker.counters.outputFilesWithoutTask).toBe(1);
    expect(t.tracker.counters.eventsWithoutTask).toBe(0);
    expect(chair.generation.output.file_size_bytes).toBe(1000);
    expect(lamp.generation.output.file_size_bytes).toBe(2000);
    expect(links(lamp).filter((l) => l.startsWith('ply_written'))).toEqual([]);
    for (const r of [chair, lamp]) expect(r.provenance.incomplete_reasons).not.toContain('generation_end_not_seen');
  });

  test('two tasks generating on two known workers: the file goes to the one on its worker, not to the oldest', async () => {
    const t = await makeTracker({ endpoints: ENDPOINTS, outputGroups: ['g1', 'g2'] });
    feed(
      t.tracker,
      toEvents(
        [
          ...start(0, 'a red chair'),
          ...start(1, 'a big blue lamp'),
          w(W1, 0.2, 'Request received: text prompt (11 chars)', 'INFO', 'serve:generate:88'),
          w(W2, 1.2, 'Request received: text prompt (15 chars)', 'INFO', 'serve:generate:88'),
        ],
        CUSTOM_RULES,
      ),
    );
    expect(t.tracker.pushOutput(outputFile('g2', 'x.ply', 10, 5000))).toBe(idOf(1, 'a big blue lamp'));
    expect(t.tracker.pushOutput(outputFile('g1', 'y.ply', 11, 6000))).toBe(idOf(0, 'a red chair'));
    t.tracker.finishAll('input_ended');
    const records = t.tracker.drainRecords().map((f) => f.record);
    expect(links(recordOf(records, 'a big blue lamp'))).toEqual(['worker_request:determined:1', 'ply_written:determined:1']);
    expect(recordOf(records, 'a red chair').generation.output.file_size_bytes).toBe(6000);
  });

  test('a file of another worker, or of no generation, is not linked: counted', async () => {
    const t = await makeTracker({ endpoints: ENDPOINTS, outputGroups: ['g1', 'g2'] });
    feed(t.tracker, toEvents([...start(0, 'a red chair'), w(W1, 1, ' Generation took: 0.01 min', 'INFO', '__main__:generate:52')]));
    expect(t.tracker.pushOutput(outputFile('g2', 'other.ply', 10, 1000))).toBeNull();
    expect(t.tracker.pushOutput(outputFile('g1', 'before.ply', -5, 1000))).toBeNull();
    expect(t.tracker.counters).toMatchObject({ outputFilesLinked: 0, outputFilesWithoutTask: 2 });
  });

  test('a path named by a worker line (the custom worker Gaussians line) links the file to that task', async () => {
    const t = await makeTracker({ endpoints: ENDPOINTS, outputGroups: ['g1', 'g2'] });
    feed(
      t.tracker,
      toEvents(
        [
          ...start(0, 'a red chair'),
          ...start(1, 'a big blue lamp'),
          w(W2, 1.2, 'Request received: text prompt (15 chars)', 'INFO', 'serve:generate:88'),
          w(W2, 15, 'Gaussians: 398234, PLY 35.31 MB -> /srv/outputs/g2/gen_1762983015_02bc.ply'),
        ],
        CUSTOM_RULES,
      ),
    );
    const id = t.tracker.pushOutput(outputFile('g2', 'gen_1762983015_02bc.ply', 15, 37_025_000, '/srv/outputs/g2'));
    expect(id).toBe(idOf(1, 'a big blue lamp'));
    t.tracker.finishAll('input_ended');
    const lamp = recordOf(
      t.tracker.drainRecords().map((f) => f.record),
      'a big blue lamp',
    );
    expect(lamp.generation.output.num_gaussians).toBe(398234);
    expect(lamp.generation.output.file_size_bytes).toBe(37_025_000);
    expect(links(lamp)).toEqual(['worker_request:determined:1', 'worker_metrics:determined:1', 'ply_written:determined:1']);
  });

  test('a path named by a worker line links a file that comes after the link window', async () => {
    const lines: Line[] = [
      ...start(0, 'a red chair'),
      w(W1, 15, 'Gaussians: 41877, PLY 3.71 MB -> /srv/outputs/g1/gen_1762983015_02bc.ply'),
      m(20, msg.completed(3_890_000)),
    ];
    const late = outputFile('g1', 'gen_1762983015_02bc.ply', 60, 3_890_000);
    const t = await makeTracker({ endpoints: ENDPOINTS, outputGroups: ['g1'] });
    feed(t.tracker, toEvents(lines, CUSTOM_RULES));
    expect(t.tracker.pushOutput(late)).toBe(idOf(0, 'a red chair'));
    // another name, same time: nothing explains it
    const u = await makeTracker({ endpoints: ENDPOINTS, outputGroups: ['g1'] });
    feed(u.tracker, toEvents(lines, CUSTOM_RULES));
    expect(u.tracker.pushOutput({ ...late, name: 'other.ply', path: '/srv/outputs/g1/other.ply' })).toBeNull();
  });

  test('a finished task that waits for an attribution does not wait for an output file (the daemon need not poll)', async () => {
    const t = await makeTracker({ endpoints: ENDPOINTS });
    t.tracker.setOutputSettled(at(0), at(0));
    feed(t.tracker, toEvents([...start(0, 'a red chair'), ...start(1, 'a blue lamp'), m(20, msg.completed(1000)), m(21, msg.completed(2000)), m(30, msg.feedback(7, '0.9', 'a red chair')), m(31, msg.querying(12, '52345.1'))]));
    // the chair has its feedback, but which size is its stays open until the lamp's
    expect(t.tracker.drainRecords()).toHaveLength(0);
    expect(t.tracker.snapshot().closing?.length).toBe(1);
    expect(t.tracker.awaitingOutput).toBe(0);
  });

  test('read live: a finished task waits for its file, then the file completes it', async () => {
    const t = await makeTracker({ endpoints: ENDPOINTS, outputGroups: ['g1'], linkAfterEndMs: 5000 });
    t.tracker.setOutputSettled(at(0), at(0));
    feed(t.tracker, toEvents([...start(0, 'a red chair'), m(20, msg.completed(1000)), m(30, msg.feedback(7, '0.9', 'a red chair'))]));
    t.tracker.finishAll('input_ended');
    expect(t.tracker.drainRecords()).toHaveLength(0);
    expect(t.tracker.awaitingOutput).toBe(1);
    expect(t.tracker.pushOutput(outputFile('g1', 'late.ply', 20, 1000))).toBe(idOf(0, 'a red chair'));
    const [f] = t.tracker.drainRecords();
    expect(f!.record.outcome).toBe('accepted');
    expect(f!.ply?.name).toBe('late.ply');
    expect(t.tracker.awaitingOutput).toBe(0);
  });

  test('read live: the directory known past the link window releases a task without a file', async () => {
    const t = await makeTracker({ endpoints: ENDPOINTS, outputGroups: ['g1'], linkAfterEndMs: 5000 });
    t.tracker.setOutputSettled(at(0), at(0));
    feed(t.tracker, toEvents([...start(0, 'a red chair'), m(20, msg.completed(1000)), m(30, msg.feedback(7, '0.9', 'a red chair'))]));
    t.tracker.finishAll('input_ended');
    t.tracker.setOutputSettled(at(4.999), at(5));
    expect(t.tracker.drainRecords()).toHaveLength(0);
    t.tracker.setOutputSettled(at(5), at(5));
    const [f] = t.tracker.drainRecords();
    expect(f!.record.outcome).toBe('accepted');
    expect(f!.ply).toBeNull();
  });
});

describe('snapshot and restore', () => {
  /** Two endpoints, a guessed end, a moved guess, a pending submit failure, an image, a detail line. */
  function scenario(b64: string, imageLogId: string): Line[] {
    return [
      m(-1, msg.querying(12, '52345.1')),
      ...start(0, 'a red chair'),
      ...start(1, b64),
      w(W1, 2, ' Generation took: 0.3 min', 'INFO', '__main__:generate:52'),
      m(18, msg.completed(1000)),
      m(19, msg.feedback(7, '0.9', imageLogId)), // moves the guessed end to the image task
      m(19.001, msg.detail('0.71', '1523.4', 37, '0.0123')),
      ...start(25, 'a blue lamp'),
      m(30, msg.completed(3000)),
      m(31, msg.failed(500), 'ERROR'),
      m(300, msg.submitFailed(HOTKEY, 'Request timeout after 300.0 seconds'), 'WARNING'),
      m(301, msg.feedback(7, '0.0', 'a blue lamp')),
      ...start(310, 'a green cup'),
      m(330, msg.completed(1234)),
    ];
  }

  /** Feeds `ev` straight, and cut at every point with a JSON round trip of the snapshot into a new tracker: the same records. */
  async function sameAfterAnyRestore(ev: LogEvent[], opts: Partial<TrackerOptions>): Promise<FinishedRecord[]> {
    const straight = await makeTracker(opts);
    feed(straight.tracker, ev);
    straight.tracker.finishAll('input_ended');
    const want = straight.tracker.drainRecords();
    for (let cut = 1; cut < ev.length; cut++) {
      const first = await makeTracker(opts);
      feed(first.tracker, ev.slice(0, cut));
      const got = first.tracker.drainRecords();
      const snap = JSON.parse(JSON.stringify(first.tracker.snapshot())) as TrackerSnapshot;
      const second = await makeTracker(opts);
      second.tracker.restore(snap);
      feed(second.tracker, ev.slice(cut));
      second.tracker.finishAll('input_ended');
      got.push(...second.tracker.drainRecords());
      expect({ cut, records: got }).toEqual({ cut, records: want });
    }
    return want;
  }

  test('restoring a JSON round trip of the snapshot at any point gives the same records as one run', async () => {
    const png = smallPng(7);
    const b64 = png.toString('base64');
    const imageLogId = 'image:' + (await hashers()).blake3Hex(Buffer.from(b64));
    const want = await sameAfterAnyRestore(toEvents(scenario(b64, imageLogId)), ENDPOINTS_OPTS);
    expect(want.map((f) => [f.record.task.prompt?.slice(0, 20), f.record.outcome])).toEqual([
      ['[BASE64_IMAGE_HASH:s', 'accepted'],
      ['a red chair', 'submit_failed'], // the submit failure names the hotkey of its validator (uid 12)
      ['a blue lamp', 'generation_failed'],
      ['a green cup', 'interrupted'],
    ]);
  });

  test('the same across a restore: a feedback that comes after its task was written without it (past the timeout) writes it again', async () => {
    // written at 800 s (the miner shown alive past its deadline at 700 s), its feedback at 1000 s
    const ev = toEvents([...start(0, 'a red chair'), m(20, msg.completed(1000)), m(700, STATS, 'INFO'), m(800, STATS, 'INFO'), m(1000, msg.feedback(7, '0.9', 'a red chair'))]);
    const want = await sameAfterAnyRestore(ev, { feedbackTimeoutMs: 600_000 });
    expect(want.map((f) => f.record.outcome)).toEqual(['no_feedback', 'accepted']);
  });

  test('the same across a restore: a lost received line, a hotkey learnt from a failed pull, a pending submit failure, occurrences', async () => {
    const ev = toEvents([
      m(-2, msg.querying(12, '52345.1')),
      m(-1.5, `Failed to get task from [${HOTKEY}]. Reason: Request timeout after 12.0 seconds.`, 'WARNING'),
      m(0, msg.received('a red chair')), // PM2 cut it (made damaged below)
      m(0.5, msg.generating('a red chair')),
      m(1.9, msg.querying(12, '52345.1')),
      ...start(2, 'a blue lamp'),
      m(2.9, msg.querying(13, '1200.0')),
      ...start(3, 'a green cup'),
      m(20, msg.completed(1000)),
      m(21, msg.completed(2000)),
      m(22, msg.completed(3000)),
      m(300, msg.submitFailed(HOTKEY, 'Request timeout after 300.0 seconds'), 'WARNING'), // uid 12: a blue lamp
      m(301, msg.submitFailed('5Other', 'Service disconnected: Server disconnected'), 'WARNING'), // a red chair or a green cup
      m(302, msg.feedback(13, '0.9', 'a green cup')), // -> a red chair, by elimination
      m(400, msg.received('twice')),
      m(400, msg.received('twice')),
    ]);
    ev[2] = { ...ev[2]!, damaged: true, fields: {}, long: null };
    const want = await sameAfterAnyRestore(ev, { endpoints: ENDPOINTS });
    // in the order of their tasks (when each is written depends on when its last open question settles)
    const rows = want.map((f) => [f.record.task.prompt, f.record.outcome, f.record.metadata.timestamp, links(f.record).at(-1), f.record.metadata.generation_id]);
    expect(rows.sort((a, b) => String(a[2]).localeCompare(String(b[2])) || String(a[4]).localeCompare(String(b[4])))).toEqual(
      [
        ['a red chair', 'submit_failed', iso(0), 'submit_failed:determined:1', idOf(0.5, 'a red chair')],
        // the three ends were settled by best fit at 300 s (2 min open): what the search decides in their
        // tasks' lifetimes after that is only as sure as those guesses, unless one task alone may take it
        ['a blue lamp', 'submit_failed', iso(2), 'submit_failed:inferred:2', idOf(2, 'a blue lamp')],
        ['a green cup', 'accepted', iso(3), 'feedback:named:1', idOf(3, 'a green cup')],
        ['twice', 'interrupted', iso(400), undefined, idOf(400, 'twice', 0)],
        ['twice', 'interrupted', iso(400), undefined, idOf(400, 'twice', 1)],
      ].sort((a, b) => String(a[2]).localeCompare(String(b[2])) || String(a[4]).localeCompare(String(b[4]))),
    );
  });

  test('taking a snapshot changes nothing (a task waiting for its detail line stays open)', async () => {
    const t = await makeTracker();
    feed(t.tracker, toEvents(acceptedTask(0, 'a red chair')));
    const a = t.tracker.snapshot();
    expect(a.awaitingDetailId).toBe(idOf(0, 'a red chair'));
    expect(a.tasks).toHaveLength(1);
    expect(t.tracker.snapshot()).toEqual(a);
    feed(t.tracker, toEvents([m(30.001, msg.detail('0.7', '1500', 3, '0.01'))]));
    expect(t.tracker.drainRecords()[0]!.record.validator_feedback.reward).toBe(0.01);
  });
});

const ENDPOINTS_OPTS = { endpoints: ENDPOINTS, validatorHotkeys: { '12': HOTKEY } };

describe('ambiguous cases: what the evidence decides is determined, the rest inferred with its alternatives', () => {
  const two = { endpoints: ENDPOINTS };
  const alternatives = (r: GenerationRecord) => r.provenance.links.map((l) => l.alternatives ?? []);

  test('two tasks generating, one unnamed "Generation completed": it waits; the older task\'s feedback decides it', async () => {
    const t = await makeTracker(two);
    feed(t.tracker, toEvents([...start(0, 'a red chair'), ...start(1, 'a blue lamp'), m(20, msg.completed(1000))]));
    const snap = t.tracker.snapshot();
    expect(snap.tasks.map((x) => x.phase)).toEqual(['generating', 'generating']);
    expect(snap.window!.map((x) => [x.item.kind, x.candidates.length])).toEqual([['end', 2]]);
    // the chair's feedback needs an end before it: only the one at 20 s
    feed(t.tracker, toEvents([m(30, msg.feedback(7, '0.9', 'a red chair')), m(40, msg.completed(2000)), m(50, msg.feedback(7, '0.8', 'a blue lamp'))]));
    t.tracker.finishAll('input_ended');
    const records = t.tracker.drainRecords().map((f) => f.record);
    const c = recordOf(records, 'a red chair');
    const l = recordOf(records, 'a blue lamp');
    expect(links(c)).toEqual(['feedback:named:1', 'generation_completed:determined:1']);
    expect([c.generation.output.file_size_bytes, c.generation.timing.total_time]).toEqual([1000, 19.9]);
    expect(links(l)).toEqual(['generation_completed:determined:1', 'feedback:named:1']);
    expect([l.generation.output.file_size_bytes, l.generation.timing.total_time]).toEqual([2000, 38.9]);
  });

  test('the younger task\'s feedback first: the end goes to it, determined; the older takes the next', async () => {
    const { records } = await run([
      ...start(0, 'a red chair'),
      ...start(1, 'a blue lamp'),
      m(20, msg.completed(1000)),
      m(21, msg.feedback(7, '0.9', 'a blue lamp')),
      m(40, msg.completed(2000)),
      m(50, msg.feedback(7, '0.8', 'a red chair')),
    ], { options: two });
    const c = recordOf(records, 'a red chair');
    const l = recordOf(records, 'a blue lamp');
    expect([l.generation.output.file_size_bytes, l.generation.timing.total_time, l.generation.submission.submission_time]).toEqual([1000, 18.9, iso(20)]);
    expect(links(l)).toEqual(['feedback:named:1', 'generation_completed:determined:1']);
    expect([c.generation.output.file_size_bytes, c.generation.timing.total_time]).toEqual([2000, 39.9]);
    expect(links(c)).toEqual(['generation_completed:determined:1', 'feedback:named:1']);
    expect(c.provenance.sources.filter((s) => s.event === 'generation_completed')).toHaveLength(1);
  });

  test('an accepted score says its task completed: the unnamed failure is the other task\'s, links and times with it', async () => {
    const { records } = await run([
      ...start(0, 'a red chair'),
      ...start(1, 'a blue lamp'),
      m(20, msg.failed(500), 'ERROR'),
      m(21, msg.completed(1000)),
      m(30, msg.feedback(7, '0.9', 'a red chair')),
      m(31, msg.feedback(7, '0.0', 'a blue lamp')),
    ], { options: two });
    const c = recordOf(records, 'a red chair');
    const l = recordOf(records, 'a blue lamp');
    expect([c.outcome, c.failure_analysis.failed, c.generation.output.file_size_bytes, c.generation.timing.total_time]).toEqual(['accepted', false, 1000, 20.9]);
    expect(links(c)).toEqual(['feedback:named:1', 'generation_completed:determined:1']);
    expect([l.outcome, l.failure_analysis.error_type, l.generation.output.file_size_bytes, l.generation.timing.total_time]).toEqual([
      'generation_failed',
      'generation_http_error',
      null,
      18.9,
    ]);
    expect(links(l)).toEqual(['generation_failed:determined:1', 'feedback:named:1']);
  });

  test('an endpoint error naming a URL either task may run on: inferred, with the other as its alternative', async () => {
    const { records } = await run([...start(0, 'a red chair'), ...start(1, 'a blue lamp'), m(5, msg.unreachable(URL2), 'ERROR')], { options: two });
    const c = recordOf(records, 'a red chair');
    expect([c.failure_analysis.error_type, links(c), alternatives(c)]).toEqual(['endpoint_unreachable', ['endpoint_unreachable:inferred:2'], [[idOf(1, 'a blue lamp')]]]);
    expect(recordOf(records, 'a blue lamp').failure_analysis.failed).toBe(false);
  });

  test("a worker line whose own start comes before one task's generating line is the other's: determined", async () => {
    // 9.6 s before 10 s: the worker began at 0.4 s, before the blue lamp's generating line (1.1 s)
    const { records } = await run([...start(0, 'a red chair'), ...start(1, 'a blue lamp'), w(W2, 10, ' Generation took: 0.16 min', 'INFO', '__main__:generate:52')], {
      options: two,
    });
    const c = recordOf(records, 'a red chair');
    expect([c.generation.timing.generation_time, links(c)]).toEqual([9.6, ['worker_metrics:determined:1']]);
    expect(recordOf(records, 'a blue lamp').generation.timing.generation_time).toBeUndefined();
  });

  test('a worker line while two unbound tasks generate: inferred among 2', async () => {
    const { records } = await run([...start(0, 'a red chair'), ...start(1, 'a blue lamp'), w(W2, 10, ' Generation took: 0.1 min', 'INFO', '__main__:generate:52')], {
      options: two,
    });
    // the worker began at 4 s by its own measure: the nearer generating line before it fits best
    const l = recordOf(records, 'a blue lamp');
    expect([l.generation.timing.generation_time, links(l), alternatives(l)]).toEqual([6, ['worker_metrics:inferred:2'], [[idOf(0, 'a red chair')]]]);
    expect(recordOf(records, 'a red chair').generation.timing.generation_time).toBeUndefined();
  });

  test('a submit failure still ambiguous at the end of the input: the best fit takes it, inferred; the other is marked', async () => {
    const { records } = await run([
      ...start(0, 'a red chair'),
      ...start(1, 'a blue lamp'),
      m(20, msg.completed(1000)),
      m(21, msg.completed(2000)),
      m(300, msg.submitFailed(HOTKEY, 'Request timeout after 300.0 seconds'), 'WARNING'),
    ], { options: two });
    const c = recordOf(records, 'a red chair');
    const l = recordOf(records, 'a blue lamp');
    expect([c.outcome, links(c)]).toEqual(['submit_failed', ['generation_completed:inferred:2', 'submit_failed:inferred:2']]);
    expect([l.outcome, l.validator_feedback.received, l.provenance.incomplete_reasons]).toEqual(['interrupted', false, ['submit_failure_ambiguous', 'input_ended']]);
  });

  test('a submit failure taken by best fit does not give its task the validator it names (it may be the other task\'s)', async () => {
    const { records } = await run([
      // two queries open before either task: which validator gave which is not certain
      m(0, msg.querying(57, '1.0')),
      m(0.5, msg.querying(12, '1.0')),
      ...start(1, 'a red chair'),
      ...start(2, 'a blue lamp'),
      m(20, msg.completed(1000)),
      m(21, msg.completed(2000)),
      m(300, msg.submitFailed(HOTKEY, 'Request timeout after 300.0 seconds'), 'WARNING'),
    ], { options: { ...two, validatorHotkeys: { 99: HOTKEY } } });
    const taken = records.find((r) => r.outcome === 'submit_failed')!;
    expect(links(taken)).toContain('submit_failed:inferred:2');
    expect([taken.metadata.validator_uid, taken.metadata.validator_hotkey]).toEqual([taken.task.prompt === 'a red chair' ? 57 : 12, null]);
  });

  test('two files, two tasks on no known worker: inferred among 2, each size with the end that fits it', async () => {
    const t = await makeTracker({ ...two, outputGroups: ['g1', 'g2'] });
    feed(t.tracker, toEvents([...start(0, 'a red chair'), ...start(1, 'a blue lamp'), m(20, msg.completed(1000)), m(21, msg.completed(2000))]));
    t.tracker.pushOutput(outputFile('g2', 'b.ply', 19, 2000));
    t.tracker.pushOutput(outputFile('g1', 'a.ply', 18, 999));
    t.tracker.finishAll('input_ended');
    const records = t.tracker.drainRecords().map((f) => f.record);
    expect(links(recordOf(records, 'a blue lamp'))).toEqual(['generation_completed:inferred:2', 'ply_written:inferred:2']);
    expect(links(recordOf(records, 'a red chair'))).toEqual(['generation_completed:inferred:2', 'ply_written:inferred:2']);
    expect(recordOf(records, 'a blue lamp').generation.output.file_size_bytes).toBe(2000);
    expect(recordOf(records, 'a red chair').generation.output.file_size_bytes).toBe(999);
  });

  test('an accepted score moves nothing of an unrelated earlier pair (the old tracker swapped with the first guess)', async () => {
    const { records } = await run([
      ...start(0, 'p'),
      ...start(1, 'q'),
      m(10, msg.completed(100)),
      m(11, msg.completed(200)),
      m(12, msg.feedback(7, '0.9', 'q')),
      ...start(20, 'r'),
      ...start(21, 's'),
      m(30, msg.failed(500), 'ERROR'),
      m(31, msg.completed(400)),
      m(40, msg.feedback(7, '0.9', 'r')), // accepted: r completed, so the failure is s's
      m(41, msg.feedback(7, '0.0', 'p')),
      m(42, msg.feedback(7, '0.0', 's')),
    ]);
    const row = (p: string) => {
      const r = recordOf(records, p);
      return [r.outcome, r.failure_analysis.error_type, r.generation.output.file_size_bytes, links(r)];
    };
    expect(row('r')).toEqual(['accepted', null, 400, ['feedback:named:1', 'generation_completed:determined:1']]);
    expect(row('s')).toEqual(['generation_failed', 'generation_http_error', null, ['generation_failed:determined:1', 'feedback:named:1']]);
    // p and q: either end may be either's; the best fit gives the first end to q, answered first (its
    // feedback 1 s after the ends, p's 30 s)
    expect(row('p')).toEqual(['rejected', null, 200, ['feedback:named:1', 'generation_completed:inferred:2']]);
    expect(row('q')).toEqual(['accepted', null, 100, ['feedback:named:1', 'generation_completed:inferred:2']]);
  });
});

describe('surprises found by these tests (fixed ones assert the fix; the rest pinned as they are)', () => {
  test('the endpoint configured as the README shows it (no /generate/) does not match the URL the miner logs', async () => {
    const { records } = await run(
      [...start(0, 'a red chair'), ...start(1, 'a blue lamp'), m(5, msg.unreachable(URL2), 'ERROR')],
      { options: { endpoints: { 'http://127.0.0.1:8093': 'g1', 'http://127.0.0.1:8094': 'g2' } } },
    );
    // URL2 names g2's endpoint, but the config's URL lacks the path: the error goes by age. Matching by
    // origin is right, but with today's guesses it binds tasks by guesses too (more wrong exact PLY links
    // in the e2e tests): it comes with the attribution rewrite (branch wip/attribution-window).
    expect(recordOf(records, 'a red chair').failure_analysis.error_type).toBe('endpoint_unreachable');
    expect(links(recordOf(records, 'a red chair'))).toEqual(['endpoint_unreachable:inferred:2']);
    expect(recordOf(records, 'a blue lamp').failure_analysis.failed).toBe(false);
  });

  test('the testnet chain endpoint wss://test.finney.opentensor.ai is testnet; the finney entrypoint is mainnet', async () => {
    const net = async (line: string) =>
      (await run([m(-2, line, 'INFO'), ...start(0, 'a red chair')])).records[0]!.metadata.network;
    expect(await net('Running neuron on subnet 17 with uid 5 using network: wss://test.finney.opentensor.ai:443')).toBe('testnet');
    expect(await net('Running neuron on subnet 17 with uid 5 using network: wss://entrypoint-finney.opentensor.ai:443')).toBe('mainnet');
    expect(await net('Running neuron on subnet 17 with uid 5 using network: ws://127.0.0.1:9944')).toBe('local');
  });

  test('feedback after feedbackTimeoutMs (fixed): the same generation written again, with its feedback (the store keeps it as the next revision)', async () => {
    const { records, finished } = await run([...start(0, 'a red chair'), m(20, msg.completed(1000)), m(700, STATS, 'INFO'), m(1000, msg.feedback(7, '0.9', 'a red chair'))], {
      options: { feedbackTimeoutMs: 600_000 },
    });
    expect(records.map((r) => [r.metadata.generation_id, r.outcome, r.provenance.incomplete_reasons, r.generation.output.file_size_bytes])).toEqual([
      [idOf(0, 'a red chair'), 'no_feedback', [], 1000],
      [idOf(0, 'a red chair'), 'accepted', [], 1000],
    ]);
    expect(links(records[1]!)).toEqual(['generation_completed:determined:1', 'feedback:named:1']);
    expect(finished.map((f) => f.supersedesIfPresent)).toEqual([[], []]);
    // the sink writes a version only when it is more complete: the feedback makes it so
    expect(completeness(records[1]!)).toBeGreaterThan(completeness(records[0]!));
  });

  test('a submit failure settled by best fit, then the feedback of the task that took it: written again without it', async () => {
    const { records } = await run([
      ...start(0, 'a red chair'),
      ...start(1, 'a blue lamp'),
      m(20, msg.completed(1000)),
      m(21, msg.completed(2000)),
      m(200, msg.submitFailed(HOTKEY, 'Request timeout after 300.0 seconds'), 'WARNING'), // best fit (frozen after 2 min)
      m(400, msg.feedback(7, '0.9', 'a red chair')),
      m(401, msg.feedback(7, '0.8', 'a blue lamp')),
    ], { options: { endpoints: ENDPOINTS } });
    const latest = new Map(records.map((r) => [r.metadata.generation_id, r]));
    const chair = [...latest.values()].find((r) => r.task.prompt === 'a red chair')!;
    const lamp = [...latest.values()].find((r) => r.task.prompt === 'a blue lamp')!;
    // whichever took the failure first: both end accepted, and the failure is on neither
    expect([chair.outcome, chair.generation.submission.submitted, chair.failure_analysis.failed]).toEqual(['accepted', true, false]);
    expect([lamp.outcome, lamp.generation.submission.submitted, lamp.failure_analysis.failed]).toEqual(['accepted', true, false]);
    expect([...links(chair), ...links(lamp)].some((l) => l.startsWith('submit_failed'))).toBe(false);
    expect(records.length).toBe(3);
  });

  test('a restart cuts short a task whose end may still wait in the window: its loop is not taken to be busy to the cut (model test, 1,000 schedules)', async () => {
    const t = await makeTracker({ endpoints: {}, workerGroups: ['g1', 'g2'] });
    const upstream = (s: number, x: string) => w(W2, s, x, 'INFO', '__main__:generate:52');
    const startup = (s: number): Line[] => [
      m(s, 'Starting with config: ', 'INFO'),
      m(s + 0.009, 'Running neuron on subnet 17 with uid 42 using network: wss://entrypoint-finney.opentensor.ai:443', 'INFO'),
      m(s + 0.011, 'Worker (http://127.0.0.1:8093) started', 'INFO'),
      m(s + 0.012, 'Worker (http://127.0.0.1:8094) started', 'INFO'),
    ];
    // the chair runs on worker 2, ends, fails to submit; its loop pulls the vase (worker 2 again); the
    // lamp, on worker 1, has just started; a restart cuts the lamp and the vase, whose worker answers later
    const lines: Line[] = [
      ...startup(0),
      m(1.05, msg.received('a red chair')),
      m(1.052, msg.generating('a red chair')),
      upstream(1.397, ` Generation took: ${0.345 / 60} min`),
      m(1.43, msg.received('a blue lamp')),
      m(1.44, msg.generating('a blue lamp')),
      m(1.448, msg.completed(1_000_000)),
      m(1.648, msg.submitFailed('5FFApaS75bv5pJHfAp2FVLBj9ZaXuFDjEypsaBNc1wCfe52v', 'Request timeout after 300.0 seconds'), 'WARNING'),
      m(1.668, msg.received('a white vase')),
      m(1.668, msg.generating('a white vase')),
      ...startup(1.719),
      upstream(2.617, ` Generation took: ${0.949 / 60} min`),
      upstream(2.667, ` Saving and encoding took: ${0.05 / 60} min`),
    ];
    // one batch, as `ingest` reads a short log: the window is solved at its end
    t.tracker.deferAttribution(true);
    feed(t.tracker, toEvents(lines).sort((a, b) => a.timeMs - b.timeMs));
    t.tracker.deferAttribution(false);
    t.tracker.finishAll('input_ended');
    const records = t.tracker.drainRecords().map((f) => f.record);
    const chair = recordOf(records, 'a red chair');
    // the lamp started 8 ms before the end line and may have ended in it; the chair's loop may have
    // been freed by the submit failure and pulled the vase, whose worker then answered: both stay open
    expect(chair.generation.output.file_size_bytes).toBe(1_000_000);
    expect(links(chair)).toEqual(['worker_metrics:determined:1', 'generation_completed:inferred:2', 'submit_failed:inferred:2']);
    expect(links(recordOf(records, 'a blue lamp'))).toEqual([]);
    expect(links(recordOf(records, 'a white vase'))).toEqual(['worker_metrics:inferred:2', 'worker_metrics:inferred:2']);
  });
});
