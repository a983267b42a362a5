/**
 * The assembly's bulkhead, as `ingest` and the daemon share it: an event whose handling throws is
 * quarantined (its file, span and hash, never its text), logged once with its position, and skipped;
 * the events after it are handled as if it had not been there.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runIngest } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig } from '../../src/config';
import type { GenerationRecord } from '../../src/schema';
import { Assembly } from '../../src/pipeline/assembly';
import { ClockStepWatch, ManualClock } from '../../src/common/clock';
import { silentLogger } from '../../src/common/logger';
import { at, m, makeTracker, MINER, msg, outputFile, timeText, toEvents, w, W1 } from '../assemble/events';
import { loguru } from '../parse/helpers';
import type { StreamSpec } from '../../src/parse';
import type { Tracker } from '../../src/assemble';

const line = (s: number, msg: string) => `2025-11-12 21:${String(30 + Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}.000 |      DEBUG       | bittensor:workers.py:87 | ${msg}\n`;

function task(i: number, at: number): string {
  const prompt = `a red chair number ${i}`;
  return (
    line(at, 'Querying task from [57]. Stake: 1.0') +
    line(at, `Task received. Prompt: ${prompt}.`) +
    line(at + 1, `Generating for prompt: ${prompt} with timeout None seconds`) +
    line(at + 5, `Generation completed. Size: ${1000 + i}`) +
    line(at + 8, `Feedback received from [57]. Score: 0.${i + 1}. (${prompt})`)
  );
}

test('a throwing event is quarantined with its position and hash, and the next tasks are recorded as before', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bulkhead-'));
  try {
    const minerLog = path.join(dir, 'miner-sn17-mainnet-out.log');
    const text = [0, 1, 2, 3].map((i) => task(i, i * 10)).join('');
    fs.writeFileSync(minerLog, text);
    const config = { ...defaultConfig(), dataDir: path.join(dir, 'data'), timeZone: 'UTC', workers: [] };
    const errors: { obj: Record<string, unknown>; msg: string }[] = [];
    const logger = { info: () => {}, debug: () => {}, warn: () => {}, error: (obj: object, msg: string) => errors.push({ obj: obj as Record<string, unknown>, msg }) };
    let feedbacks = 0;
    const summary = await runIngest({
      config,
      streams: explicitStreams([minerLog], [], 'miner-sn17-mainnet'),
      minerApp: 'miner-sn17-mainnet',
      host: 'h',
      logger,
      beforeEvent: (e) => {
        if (e.type === 'feedback' && ++feedbacks === 2) throw new TypeError('injected');
      },
    });
    expect(summary.quarantined).toBe(1);
    expect(summary.records).toBe(4);

    // where it was: the second feedback line, its bytes hashed, never its text logged
    const start = text.indexOf('Feedback received from [57]. Score: 0.2');
    const offset = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n', start) + 1));
    const end = Buffer.byteLength(text.slice(0, text.indexOf('\n', start) + 1));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.obj).toMatchObject({
      file: minerLog,
      offset,
      length: end - offset,
      sha256: createHash('sha256').update(Buffer.from(text).subarray(offset, end)).digest('hex'),
      error: 'TypeError: injected',
    });
    expect(errors[0]!.msg).toContain(`${minerLog}:${offset}`);
    expect(JSON.stringify(errors)).not.toContain('red chair');

    const records = fs
      .readFileSync(path.join(config.dataDir, 'generation_history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as GenerationRecord)
      .sort((a, b) => a.metadata.timestamp.localeCompare(b.metadata.timestamp));
    expect(records.map((r) => [r.generation.output.file_size_bytes, r.validator_feedback.score])).toEqual([
      [1000, 0.1],
      [1001, null],
      [1002, 0.3],
      [1003, 0.4],
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('the task clock across a step of the system clock (issue 15, item 6)', () => {
  test('a wall clock stepped 2 h forward or back closes no task; elapsed time still times it out', async () => {
    for (const stepMs of [2 * 3_600_000, -2 * 3_600_000]) {
      const { tracker } = await makeTracker({ taskTimeoutMs: 10 * 60_000, feedbackTimeoutMs: 10 * 60_000 });
      const clock = new ManualClock(at(5));
      const assembly = new Assembly({ tracker, logger: silentLogger, clock, live: true }, [{ id: '0', key: 'miner', spec: MINER }], []);
      for (const e of toEvents([m(0, msg.querying(57, '1.0')), m(0, msg.received('a red chair')), m(1, msg.generating('a red chair'))])) assembly.pushLog('0', e, clock.now());
      assembly.setCaughtUp('0', true);
      assembly.setIdle('0', true);
      assembly.setAllCaughtUp(true);
      await assembly.step(clock.now());
      const steps = new ClockStepWatch(clock);
      steps.check();
      clock.stepWall(stepMs);
      expect(steps.check()).toBe(stepMs);
      await assembly.step(clock.now());
      expect(tracker.drainRecords()).toEqual([]);
      expect(tracker.openTasks).toBe(1);
      // ten minutes of elapsed time: the task timeout, as without the step
      clock.advance(10 * 60_000 + 1000);
      expect(steps.check()).toBe(0);
      await assembly.step(clock.now());
      const [r] = tracker.drainRecords();
      expect(r!.record.provenance.incomplete_reasons).toContain('task_timeout');
    }
  });
});

describe('the live merge', () => {
  /** The daemon's assembly of these log sources; `handed`: the events handed to the tracker, in order. */
  function liveAssembly(tracker: Tracker, clock: ManualClock, streams: { id: string; key: string; spec: StreamSpec }[]): { assembly: Assembly; handed: string[] } {
    const handed: string[] = [];
    return { assembly: new Assembly({ tracker, logger: silentLogger, clock, live: true, beforeEvent: (e) => handed.push(e.type) }, streams, []), handed };
  }
  /** Every log source caught up with its file and idle, as once the daemon has read what was there. */
  function caughtUp(assembly: Assembly, ids: string[]): void {
    for (const id of ids) {
      assembly.setCaughtUp(id, true);
      assembly.setIdle(id, true);
    }
    assembly.setAllCaughtUp(true);
  }

  test('a generation\'s end waits 1 s for a worker line written before it that PM2 brought to its file late', async () => {
    const { tracker } = await makeTracker({ workerGroups: ['g1'] });
    const clock = new ManualClock(at(5));
    const { assembly, handed } = liveAssembly(tracker, clock, [
      { id: 'm', key: 'miner', spec: MINER },
      { id: 'w', key: 'worker', spec: W1 },
    ]);
    const [received, generating, completed] = toEvents([m(0, msg.received('a red chair')), m(0.1, msg.generating('a red chair')), m(5.05, msg.completed(1000))]);
    const [workerLine] = toEvents([w(W1, 5, ' Generation took: 0.08 min', 'INFO', '__main__:generate:52')]);
    for (const e of [received!, generating!, completed!]) assembly.pushLog('m', e, clock.now());
    caughtUp(assembly, ['m', 'w']);
    await assembly.step(clock.now());
    clock.advance(500);
    await assembly.step(clock.now());
    expect(handed).toEqual(['task_received', 'generating']);
    // the worker's line, 0.05 s older than the end, comes 0.8 s after it
    clock.advance(300);
    assembly.pushLog('w', workerLine!, clock.now());
    await assembly.step(clock.now());
    clock.advance(300);
    await assembly.step(clock.now());
    expect(handed).toEqual(['task_received', 'generating', 'worker_metrics', 'generation_completed']);
  });

  test('without workers\' logs or output directories, an end is handed on at once: the feedback right after it is not held', async () => {
    const { tracker } = await makeTracker();
    const clock = new ManualClock(at(1));
    const MINER_ERR = { ...MINER, stream: 'error' as const, file: '/logs/miner-sn17-mainnet-error.log' };
    const { assembly, handed } = liveAssembly(tracker, clock, [
      { id: 'out', key: 'miner-out', spec: MINER },
      { id: 'err', key: 'miner-err', spec: MINER_ERR },
    ]);
    caughtUp(assembly, ['out', 'err']);
    const lines = toEvents([m(0, msg.received('a red chair')), m(0.1, msg.generating('a red chair')), m(0.9, msg.completed(1000)), m(0.95, msg.feedback(57, '0.7', 'a red chair'))]);
    for (const e of lines) assembly.pushLog('out', e, clock.now());
    await assembly.step(clock.now());
    expect(handed).toEqual(['task_received', 'generating', 'generation_completed', 'feedback']);
  });

  test('an output file whose mtime is a kernel tick behind its request\'s `Task completed.`, both waiting at once, is that request\'s generation (competition mode)', async () => {
    const SERVICE: StreamSpec = { app: 'generation', role: 'generation', group: 'generation', stream: 'error', file: '/logs/generation-error.log' };
    const competition = { app: 'generation', hotkey: '5GgVxYJS3RsZtdhCVkW9DwBcjojAkcSpZXz6AnefsThrhPJf', host: 'h', collectorVersion: '0', minerVersion: null, minerConfig: {}, linkWithinMs: 30_000, taskTimeoutMs: 30 * 60_000, holdMs: 86_400_000 };
    const { tracker } = await makeTracker({ competition });
    const clock = new ManualClock(at(1));
    const assembly = new Assembly({ tracker, logger: silentLogger, clock, live: true }, [{ id: 's', key: 'generation', spec: SERVICE }], ['out']);
    const g = (s: number, message: string, where: string) => loguru(message, { time: timeText(s), where });
    const lines = toEvents([
      [SERVICE, g(0, 'Task received. Prompt-Image', '__main__:generate_model:135')],
      [SERVICE, g(0.04, 'Model Generation took: 0.04 secs.', '__main__:generation_block:121')],
      [SERVICE, g(0.042, 'Garbage Collection took: 0.002 secs', '__main__:generation_block:126')],
      [SERVICE, g(0.042, 'Task completed.', '__main__:generate_model:144')],
    ]);
    // the driver wrote the answer after the line; the kernel stamped it 2.3 ms before (its clock is a tick coarse)
    const file = outputFile('competition', `${'a'.repeat(64)}.glb`, 0.0397, 300, '/srv/outputs');
    // read together (a backlog: the collector was behind), so the merge alone orders them
    for (const e of lines) assembly.pushLog('s', e, clock.now());
    assembly.pushOutput('out', file, clock.now());
    for (const id of ['s', 'out']) assembly.setIdle(id, true);
    await assembly.step(clock.now());
    for (const o of tracker.outputsToMeasure()) tracker.setOutputMeasure(o.id, { sha256: 'f'.repeat(64), ply: null, error: null });
    const [r] = tracker.drainRecords().map((f) => f.record);
    expect(r!.competition!.stem).toBe('a'.repeat(64));
    expect(r!.generation.timing.total_time).toBe(0.042);
    expect(r!.provenance.links.find((l) => l.event === 'output_written')).toMatchObject({ link: 'determined', candidates: 1 });
  });
});
