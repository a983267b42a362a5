/**
 * The search's lookahead (attribution/lookahead.ts) only cuts branches that reach no consistent
 * assignment: with it and without it, the search reaches the same assignments in the same order, so
 * every answer is the same. Random windows (fast-check), and eight real windows of an 8-endpoint log
 * (the synthetic concurrent log's), where it cuts most.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { DEFAULT_LIMITS, endpointKey, solve, type Attribution, type Binding, type LoopCount, type WindowItem, type WindowTask } from '../../src/assemble/tracker/attribution';
import { Lookahead } from '../../src/assemble/tracker/attribution/lookahead';

/** A budget no window here reaches: a walk the budget cut short would differ by where it stopped. */
const LIMITS = { ...DEFAULT_LIMITS, maxNodes: 5_000_000 };
const GROUPS = ['g1', 'g2', 'g3'];

const plain = (r: Attribution) => JSON.stringify([r.leaves, r.truncated, [...r.items], [...r.ended]]);

const taskArb = (id: string) =>
  fc
    .record({
      startMs: fc.integer({ min: 0, max: 40_000 }),
      pullMs: fc.integer({ min: 0, max: 500 }),
      notSent: fc.integer({ min: 0, max: 9 }),
      fixedEndAfter: fc.option(fc.record({ ms: fc.integer({ min: 0, max: 30_000 }), completed: fc.boolean(), late: fc.boolean() }), { freq: 4 }),
      group: fc.option(fc.constantFrom(...GROUPS), { freq: 2 }),
      answerAfter: fc.option(fc.integer({ min: 0, max: 30_000 }), { freq: 4 }),
      closedAfter: fc.option(fc.integer({ min: 1000, max: 50_000 }), { freq: 2 }),
      feedback: fc.boolean(),
      abandoned: fc.integer({ min: 0, max: 9 }),
      endLost: fc.integer({ min: 0, max: 19 }),
      mustComplete: fc.boolean(),
      validatorUid: fc.option(fc.integer({ min: 1, max: 3 })),
    })
    .map((r): WindowTask => {
      const closedMs = r.closedAfter === null ? null : r.startMs + r.closedAfter;
      return {
        id,
        startMs: r.startMs,
        receivedMs: r.startMs - r.pullMs,
        loopFreeMs: r.feedback && closedMs !== null ? closedMs : null,
        canEnd: r.notSent !== 0,
        taskType: 'TEXT-TO-3D',
        promptLength: 10,
        fixedEnd: r.fixedEndAfter ? { timeMs: r.startMs + r.fixedEndAfter.ms, completed: r.fixedEndAfter.completed, late: r.fixedEndAfter.late } : null,
        fixedBindings: r.group ? [{ ns: 'g', value: r.group }] : [],
        fixedAnswerMs: r.answerAfter === null ? null : r.startMs + r.answerAfter,
        fixedDurationMs: null,
        closedMs,
        hadFeedback: r.feedback && closedMs !== null,
        abandonedMs: r.abandoned === 0 ? closedMs : null,
        endLost: r.endLost === 0,
        mustComplete: r.mustComplete,
        validatorUid: r.validatorUid,
        validatorHotkey: null,
      };
    });

const itemArb = (key: string, taskIds: string[]): fc.Arbitrary<WindowItem> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ timeMs: fc.integer({ min: 0, max: 80_000 }), completed: fc.boolean(), late: fc.integer({ min: 0, max: 5 }), group: fc.option(fc.constantFrom(...GROUPS), { freq: 2 }) }).map(
      (r): WindowItem => ({ kind: 'end', key, timeMs: r.timeMs, completed: r.completed, late: r.late === 0, binding: r.group ? ({ ns: 'g', value: r.group } as Binding) : null, bytes: r.completed ? 1000 : null }),
    ) },
    { weight: 4, arbitrary: fc.record({ timeMs: fc.integer({ min: 0, max: 80_000 }), group: fc.constantFrom(...GROUPS), answers: fc.boolean(), took: fc.option(fc.integer({ min: 0, max: 30_000 })) }).map(
      (r): WindowItem => ({ kind: 'worker', key, timeMs: r.timeMs, group: r.group, answerMs: r.answers ? r.timeMs : null, durationMs: r.answers ? r.took : null, startMs: r.took === null ? null : r.timeMs - r.took, promptKind: null, promptChars: null }),
    ) },
    { weight: 2, arbitrary: fc.record({ timeMs: fc.integer({ min: 0, max: 90_000 }), taskId: fc.constantFrom(...taskIds), mustComplete: fc.boolean() }).map(
      (r): WindowItem => ({ kind: 'close', key, timeMs: r.timeMs, taskId: r.taskId, mustComplete: r.mustComplete }),
    ) },
    { weight: 1, arbitrary: fc.record({ timeMs: fc.integer({ min: 0, max: 90_000 }), uid: fc.option(fc.integer({ min: 1, max: 3 })) }).map(
      (r): WindowItem => ({ kind: 'submit_failure', key, timeMs: r.timeMs, validatorHotkey: null, validatorUid: r.uid }),
    ) },
    { weight: 1, arbitrary: fc.record({ timeMs: fc.integer({ min: 0, max: 80_000 }), group: fc.constantFrom(...GROUPS) }).map(
      (r): WindowItem => ({ kind: 'file', key, timeMs: r.timeMs, group: r.group, size: 1000, lateMs: 500 }),
    ) },
  );

const windowArb = fc.integer({ min: 1, max: 6 }).chain((n) => {
  const ids = Array.from({ length: n }, (_, i) => `T${i}`);
  return fc.record({
    tasks: fc.tuple(...ids.map(taskArb)),
    items: fc.integer({ min: 1, max: 9 }).chain((m) => fc.tuple(...Array.from({ length: m }, (_, i) => itemArb(`I${i}`, ids)))),
    after: fc.integer({ min: 0, max: 20_000 }),
    loops: fc.option(fc.integer({ min: 1, max: 4 })),
  });
});

describe('the search with and without its lookahead', () => {
  it('gives the same answers on random windows, and the lookahead cuts in many of them', () => {
    const doomed = jest.spyOn(Lookahead.prototype, 'doomed');
    let cutIn = 0;
    fc.assert(
      fc.property(windowArb, ({ tasks, items, after, loops }) => {
        const nowMs = Math.max(...items.map((it) => it.timeMs), ...tasks.map((t) => t.startMs)) + after;
        const loopCount: LoopCount | null = loops === null ? null : { loops, busy: [], endpoints: GROUPS.map((g) => endpointKey('g', g)) };
        doomed.mockClear();
        const withIt = solve(tasks, items, nowMs, LIMITS, [], loopCount);
        if (doomed.mock.results.some((r) => r.value === true)) cutIn++;
        expect(plain(withIt)).toBe(plain(solve(tasks, items, nowMs, LIMITS, [], loopCount, false)));
      }),
      { numRuns: 3000, seed: 20261206 },
    );
    doomed.mockRestore();
    // a test of nothing if the lookahead never cut
    expect(cutIn).toBeGreaterThan(300);
  });

  it('gives the same answers on eight windows of an 8-endpoint log', () => {
    const file = path.join(__dirname, '../fixtures/attribution/windows-8-endpoints.jsonl');
    const windows = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(windows).toHaveLength(8);
    for (const line of windows) {
      const [tasks, items, nowMs, limits, spans, loopCount] = JSON.parse(line) as Parameters<typeof solve>;
      expect(plain(solve(tasks, items, nowMs, limits, spans, loopCount))).toBe(plain(solve(tasks, items, nowMs, limits, spans, loopCount, false)));
    }
  });
});
