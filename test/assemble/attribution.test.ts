/** The pure attribution search: what the constraints decide, and what they leave to the time fit. */
import { components, DEFAULT_LIMITS, endpointKey, solve, type WindowItem, type WindowTask } from '../../src/assemble/tracker/attribution';

const task = (id: string, startMs: number, o: Partial<WindowTask> = {}): WindowTask => ({
  id,
  startMs,
  receivedMs: startMs,
  loopFreeMs: null,
  canEnd: true,
  taskType: 'TEXT-TO-3D',
  promptLength: 10,
  fixedEnd: null,
  fixedBindings: [],
  fixedAnswerMs: null,
  fixedDurationMs: null,
  closedMs: null,
  hadFeedback: false,
  abandonedMs: null,
  endLost: false,
  mustComplete: false,
  validatorUid: null,
  validatorHotkey: null,
  ...o,
});
const end = (key: string, timeMs: number, completed = true, url: string | null = null, bytes: number | null = completed ? 1000 : null): WindowItem => ({
  kind: 'end',
  key,
  timeMs,
  completed,
  late: false,
  binding: url ? { ns: 'u', value: url } : null,
  bytes,
});
const close = (taskId: string, timeMs: number, mustComplete = false): WindowItem => ({ kind: 'close', key: `close:${taskId}`, timeMs, taskId, mustComplete });
const answer = (key: string, group: string, timeMs: number, durationMs: number | null): WindowItem => ({
  kind: 'worker',
  key,
  timeMs,
  group,
  answerMs: timeMs,
  durationMs,
  startMs: durationMs === null ? null : timeMs - durationMs,
  promptKind: null,
  promptChars: null,
});

describe('solve', () => {
  it('a feedback line decides which task the one end before it belongs to', () => {
    const r = solve([task('A', 0), task('B', 5000)], [end('E1', 20000), close('B', 21000)], 21000);
    expect(r.items.get('E1')).toMatchObject({ taskId: 'B', link: 'determined', candidates: 1 });
  });

  it('two ends before both feedback lines: inferred, ends paired with tasks in order', () => {
    const r = solve([task('A', 0), task('B', 5000)], [end('E1', 20000), end('E2', 26000), close('A', 27000), close('B', 28000)], 28000);
    expect(r.leaves).toBe(2);
    expect(r.items.get('E1')).toMatchObject({ taskId: 'A', link: 'inferred', candidates: 2 });
    expect(r.items.get('E2')).toMatchObject({ taskId: 'B', link: 'inferred', candidates: 2 });
  });

  it('a score above 0 decides: the failed end is the other task\'s', () => {
    const r = solve(
      [task('A', 0), task('B', 5000)],
      [end('E1', 20000, false), end('E2', 26000, true), close('A', 27000, true), close('B', 28000)],
      28000,
    );
    expect(r.items.get('E1')).toMatchObject({ taskId: 'B', link: 'determined' });
    expect(r.items.get('E2')).toMatchObject({ taskId: 'A', link: 'determined' });
  });

  it('worker answers and durations decide against the order', () => {
    // B started later but answered first
    const items = [answer('W2', 'g2', 15000, 9990), end('E1', 15010), answer('W1', 'g1', 30000, 29990), end('E2', 30010)];
    const r = solve([task('A', 0), task('B', 5000)], items, 31000);
    expect(r.items.get('E1')).toMatchObject({ taskId: 'B', link: 'determined' });
    expect(r.items.get('E2')).toMatchObject({ taskId: 'A', link: 'determined' });
    expect(r.items.get('W2')).toMatchObject({ taskId: 'B', link: 'determined' });
  });

  it('two tasks sent 4 ms apart whose workers both started after them: the worker that started first took the first (a capture, seed 3805)', () => {
    // every worker started after both generating lines, so any pairing has the same sum of gaps
    // (7 + 7 = 11 + 3 ms): only a cost that grows faster than the gap prefers the equal lags
    const tasks = [task('violin', 13_080), task('teapot', 13_084)];
    const items = [answer('W3', 'g3', 14_132, 1_041), end('E1', 14_134), answer('W1', 'g1', 14_783, 1_696), end('E2', 14_784)];
    const r = solve(tasks, items, 16_000);
    expect(r.items.get('W1')).toMatchObject({ taskId: 'violin', link: 'inferred' });
    expect(r.items.get('E2')).toMatchObject({ taskId: 'violin', link: 'inferred' });
    expect(r.items.get('W3')).toMatchObject({ taskId: 'teapot', link: 'inferred' });
    expect(r.items.get('E1')).toMatchObject({ taskId: 'teapot', link: 'inferred' });
  });

  it('two failed ends before both feedback lines: the first end is the task answered first (a capture, seed 3905)', () => {
    // no worker answered either request; each end names its endpoint, but which task ran where is unknown
    const fed = (id: string, startMs: number, feedbackMs: number) => task(id, startMs, { hadFeedback: true, closedMs: feedbackMs });
    const tasks = [fed('t12', 20_865, 24_183), fed('t14', 20_866, 23_357)];
    const items = [end('E1', 21_437, false, 'http://127.0.0.1:8095'), end('E2', 22_626, false, 'http://127.0.0.1:8093'), close('t14', 23_357), close('t12', 24_183)];
    const r = solve(tasks, items, 25_000);
    expect(r.items.get('E1')).toMatchObject({ taskId: 't14', link: 'inferred' });
    expect(r.items.get('E2')).toMatchObject({ taskId: 't12', link: 'inferred' });
  });

  it('an end long after a worker answered cannot be that task\'s (the lag bound)', () => {
    // A answered at 20 s, a failure with no answer ends at 35 s: B's, even though A is older
    const items = [answer('W1', 'g1', 20000, 20000), end('E1', 20010), end('E2', 35000, false)];
    const r = solve([task('A', 0), task('B', 5000)], items, 35000);
    expect(r.items.get('E1')).toMatchObject({ taskId: 'A', link: 'determined' });
    expect(r.items.get('E2')).toMatchObject({ taskId: 'B', link: 'determined' });
  });

  it('an endpoint named by an error keeps one task at a time on it', () => {
    // A or B failed on u1 at 10 s; the other was generating meanwhile, so it ran elsewhere; C runs on
    // u2: a second error on u1 at 30 s is D's
    const tasks = [task('A', 0), task('B', 1000), task('C', 12000, { fixedBindings: [{ ns: 'u', value: 'u2' }] }), task('D', 15000)];
    const r = solve(tasks, [end('E1', 10000, false, 'u1'), end('E2', 30000, false, 'u1')], 30000);
    expect(r.items.get('E1')).toMatchObject({ link: 'inferred', candidates: 2 });
    expect(r.items.get('E2')).toMatchObject({ taskId: 'D', link: 'determined' });
  });

  it("an endpoint's loop is busy with a task until its feedback: a task received before it ran elsewhere", () => {
    // A ran on u1 and had its feedback at 12 s; B was received at 11 s, so an error on u1 at 20 s is C's
    const tasks = [
      task('A', 0, { fixedBindings: [{ ns: 'u', value: 'u1' }], fixedEnd: { timeMs: 10000, completed: true, late: false }, closedMs: 12000, loopFreeMs: 12000, hadFeedback: true }),
      task('B', 11000),
      task('C', 12010),
    ];
    const r = solve(tasks, [end('E1', 20000, false, 'u1')], 20000);
    expect(r.items.get('E1')).toMatchObject({ taskId: 'C', link: 'determined' });
    // without the feedback line (upstream logs none when there is no feedback), B may be it too
    const silent = solve([{ ...tasks[0]!, closedMs: null, loopFreeMs: null, hadFeedback: false }, tasks[1]!, tasks[2]!], [end('E1', 20000, false, 'u1')], 20000);
    expect(silent.items.get('E1')).toMatchObject({ link: 'inferred', candidates: 2 });
  });

  it('a worker answer pairs with an end already settled as well as with one still open', () => {
    // A's end is settled at 15.01 s; the answer at 15 s fits it, and B's end at 16 s stands alone
    const tasks = [task('A', 0, { fixedEnd: { timeMs: 15010, completed: true, late: false } }), task('B', 5000)];
    const r = solve(tasks, [answer('W', 'g1', 15000, null), end('E2', 16000)], 16000);
    expect(r.items.get('W')).toMatchObject({ taskId: 'A', link: 'inferred' });
    expect(r.items.get('E2')).toMatchObject({ taskId: 'B', link: 'determined' });
  });

  it('a task not seen generating never reached a worker: its lines are the other task\'s', () => {
    const r = solve([task('R', 0, { canEnd: false }), task('G', 0)], [answer('W', 'g1', 5000, 4990)], 5000);
    expect(r.items.get('W')).toMatchObject({ taskId: 'G', link: 'determined' });
    // where its generating line may have been lost (the caller's second pass), it may be either
    const relaxed = solve([task('R', 0), task('G', 0)], [answer('W', 'g1', 5000, 4990)], 5000);
    expect(relaxed.items.get('W')).toMatchObject({ link: 'inferred', candidates: 2 });
  });

  it('a feedback keeps its task\'s endpoint busy until it even when best fits touched the task', () => {
    // A ended on u1 at 10 s (only A was generating then) and had its feedback at 12 s; B was received at
    // 11 s, so a later error on u1 is C's, whether or not a best fit settled some other event of A's
    const tasks = (guessed: boolean) => [
      task('A', 0, { closedMs: 12000, hadFeedback: true, loopFreeMs: guessed ? null : 12000, guessed }),
      task('B', 11000),
      task('C', 12010),
    ];
    const items = [end('E0', 10000, false, 'u1'), close('A', 12000), end('E1', 20000, false, 'u1')];
    for (const guessed of [false, true]) expect(solve(tasks(guessed), items, 20000).items.get('E1')).toMatchObject({ taskId: 'C', link: 'determined' });
    // a place on u1 that a best fit gave A is a guess: its span there stops at its end
    const placed = tasks(true).map((t) => (t.id === 'A' ? { ...t, fixedBindings: [{ ns: 'u' as const, value: 'u1' }], fixedEnd: { timeMs: 10000, completed: false, late: false } } : t));
    expect(solve(placed, [end('E1', 20000, false, 'u1')], 20000).items.get('E1')).toMatchObject({ link: 'inferred', candidates: 2 });
  });

  it('a submit failure fits best the task whose worker ran the task pulled right after it', () => {
    const tasks = [
      task('A', 0, { fixedBindings: [{ ns: 'g', value: 'g1' }], fixedEnd: { timeMs: 5000, completed: true, late: false } }),
      task('B', 1000, { fixedBindings: [{ ns: 'g', value: 'g2' }], fixedEnd: { timeMs: 6000, completed: true, late: false } }),
      task('C', 10005, { fixedBindings: [{ ns: 'g', value: 'g2' }] }),
    ];
    const failure: WindowItem = { kind: 'submit_failure', key: 'S', timeMs: 10000, validatorHotkey: null, validatorUid: null };
    expect(solve(tasks, [failure], 10100).items.get('S')).toMatchObject({ taskId: 'B', link: 'inferred', candidates: 2 });
    const onG1 = tasks.map((t) => (t.id === 'C' ? { ...t, fixedBindings: [{ ns: 'g' as const, value: 'g1' }] } : t));
    expect(solve(onG1, [failure], 10100).items.get('S')).toMatchObject({ taskId: 'A', link: 'inferred', candidates: 2 });
    // the task pulled next already written (outside the search): its span's worker group says the same
    const written = (group: string) => [{ id: 'C', key: endpointKey('g', group), fromMs: 10005, toMs: 15000, sure: true }];
    const withoutC = tasks.filter((t) => t.id !== 'C');
    expect(solve(withoutC, [failure], 20000, undefined, written('g2')).items.get('S')).toMatchObject({ taskId: 'B', link: 'inferred', candidates: 2 });
    expect(solve(withoutC, [failure], 20000, undefined, written('g1')).items.get('S')).toMatchObject({ taskId: 'A', link: 'inferred', candidates: 2 });
  });

  it('a worker may finish what a restart cut short, but not what it had already answered', () => {
    // A was generating when the miner restarted at 6 s; B was received after it, on g1 too (its line at 9.5 s)
    const cut = { closedMs: 6000, abandonedMs: 6000 };
    const line = answer('W', 'g1', 9500, 2000);
    const b = task('B', 7000);
    expect(solve([task('A', 0, cut), b], [line], 9500).items.get('W')).toMatchObject({ link: 'inferred', candidates: 2 });
    // A's end came at 5 s, before the restart: its worker had answered, the line is B's
    const answered = task('A', 0, { ...cut, fixedEnd: { timeMs: 5000, completed: true, late: false }, fixedBindings: [{ ns: 'g', value: 'g1' }] });
    expect(solve([answered, b], [line], 9500).items.get('W')).toMatchObject({ taskId: 'B', link: 'determined' });
  });

  it("a submit failure's part holds the task pulled right after it, which cannot take it", () => {
    // C (another validator's) cannot be the one that failed, but its worker is the failed task's
    const tasks = [
      task('A', 0, { fixedEnd: { timeMs: 5000, completed: true, late: false }, validatorUid: 7 }),
      task('C', 10005, { fixedEnd: { timeMs: 20000, completed: true, late: false }, validatorUid: 9 }),
      task('D', 30000),
    ];
    const failure: WindowItem = { kind: 'submit_failure', key: 'S', timeMs: 10000, validatorHotkey: null, validatorUid: 7 };
    const parts = components(tasks, [failure, end('E', 40000)], DEFAULT_LIMITS);
    expect(parts.map((p) => p.tasks.map((t) => t.id).sort())).toEqual([['A', 'C'], ['D']]);
  });

  it("a written task's span on its endpoint: no open task there has a line inside it", () => {
    // W (written) ran on g1 from 1 s to its feedback at 12 s; A was received at 8 s, B at 12.01 s:
    // A cannot be on g1 (received inside the span), so g1's answer and the end after it are B's
    const spans = [{ id: 'W', key: endpointKey('g', 'g1'), fromMs: 1000, toMs: 12000, sure: true }];
    const items = [answer('W1', 'g1', 19990, 7000), end('E1', 20000)];
    const tasks = [task('A', 8000), task('B', 12010)];
    // (at 31 s: whoever answered at 19.99 s has had its end by now)
    expect(solve(tasks, items, 31000, undefined, spans).items.get('E1')).toMatchObject({ taskId: 'B', link: 'determined' });
    expect(solve(tasks, items, 31000).items.get('E1')).toMatchObject({ link: 'inferred', candidates: 2 });
  });

  it('a written span whose endpoint was a best fit decides nothing, but makes crossing it a worse fit', () => {
    // an error on u1 at 20 s: the older A fits best, unless a guessed span on u1 covers A's received line
    const tasks = [task('A', 8000), task('B', 12010)];
    const items = [end('E1', 20000, false, 'u1')];
    expect(solve(tasks, items, 20000).items.get('E1')).toMatchObject({ taskId: 'A', link: 'inferred', candidates: 2 });
    const span = { id: 'W', key: endpointKey('u', 'u1'), fromMs: 1000, toMs: 12000 };
    expect(solve(tasks, items, 20000, undefined, [{ ...span, sure: false }]).items.get('E1')).toMatchObject({ taskId: 'B', link: 'inferred', candidates: 2 });
    expect(solve(tasks, items, 20000, undefined, [{ ...span, sure: true }]).items.get('E1')).toMatchObject({ taskId: 'B', link: 'determined' });
  });

  it('a file just after a task ended on that worker may be the next task\'s there', () => {
    // A ran on g2 and wrote its file; its end at 2 s; C started at 4 s: a file of g2 at 5 s (within the
    // late window of A's end) is C's, as A has its file already
    const file = (key: string, timeMs: number): WindowItem => ({ kind: 'file', key, timeMs, group: 'g2', size: 100, lateMs: 7000 });
    const r = solve([task('A', 0), task('C', 4000)], [file('F1', 1500), end('E1', 2000), file('F2', 5000)], 5000);
    expect(r.items.get('F1')).toMatchObject({ taskId: 'A', link: 'determined' });
    expect(r.items.get('F2')).toMatchObject({ taskId: 'C', link: 'determined' });
  });

  it('a submit failure goes to an ended task without feedback', () => {
    const tasks = [task('A', 0), task('B', 1000)];
    const items = [end('E1', 10000), end('E2', 11000), { kind: 'submit_failure' as const, key: 'S', timeMs: 12000, validatorHotkey: null, validatorUid: null }, close('A', 13000)];
    const r = solve(tasks, items, 13000);
    expect(r.items.get('S')).toMatchObject({ taskId: 'B', link: 'determined' });
    expect(r.items.get('E1')).toMatchObject({ link: 'inferred', candidates: 2 });
  });

  it('a submit failure naming a validator goes only to a task of that validator', () => {
    const tasks = [task('A', 0, { validatorHotkey: 'hk-a' }), task('B', 1000, { validatorHotkey: 'hk-b' })];
    const items = [end('E1', 10000), end('E2', 11000), { kind: 'submit_failure' as const, key: 'S', timeMs: 12000, validatorHotkey: 'hk-a', validatorUid: null }];
    const r = solve(tasks, items, 12000);
    expect(r.items.get('S')).toMatchObject({ taskId: 'A', link: 'determined' });
    // an unknown validator on the task leaves it possible
    const open = solve([tasks[0]!, task('B', 1000)], items, 12000);
    expect(open.items.get('S')).toMatchObject({ link: 'inferred', candidates: 2 });
  });

  it('a submit failure whose hotkey earlier failures narrowed to some uids goes only to a task of one of them', () => {
    const tasks = [task('A', 0, { validatorUid: 7 }), task('B', 1000, { validatorUid: 8 })];
    const failure = (uids: number[] | null): WindowItem => ({ kind: 'submit_failure', key: 'S', timeMs: 12000, validatorHotkey: 'hk', validatorUid: null, validatorUids: uids });
    expect(solve(tasks, [end('E1', 10000), end('E2', 11000), failure([7, 9])], 12000).items.get('S')).toMatchObject({ taskId: 'A', link: 'determined' });
    expect(solve(tasks, [end('E1', 10000), end('E2', 11000), failure(null)], 12000).items.get('S')).toMatchObject({ link: 'inferred', candidates: 2 });
  });

  it('no consistent assignment: no leaves, so the caller relaxes', () => {
    const r = solve([task('A', 0)], [close('A', 1000)], 1000);
    expect(r.leaves).toBe(0);
  });

  it('an output file goes to the task generating on its worker; its size breaks a tie', () => {
    const tasks = [task('A', 0), task('B', 100)];
    const file = (key: string, group: string, timeMs: number, size: number): WindowItem => ({ kind: 'file', key, timeMs, group, size, lateMs: 5000 });
    const items: WindowItem[] = [file('F1', 'g1', 9000, 1000), file('F2', 'g2', 9100, 2000), end('E1', 10000, true, null, 2000), end('E2', 10100, true, null, 1000)];
    const r = solve(tasks, items, 10100);
    expect(r.items.get('F1')).toMatchObject({ link: 'inferred', candidates: 2 });
    // the sizes pair F1 (1000 bytes) with E2's task and F2 with E1's
    const a = r.items.get('E1')!.taskId;
    expect(r.items.get('F2')!.taskId).toBe(a);
  });

  describe('the miner runs one loop per endpoint', () => {
    // three tasks start together on three loops and take the three ends (D only starts generating after
    // them); D is received at 20 s, so one loop was free by then: B and C were busy to their feedback
    // (50 s, 60 s), so A had ended, and its loop moved on silently (no feedback)
    const tasks = () => [
      task('A', 0),
      task('B', 0, { loopFreeMs: 50000, closedMs: 50000, hadFeedback: true }),
      task('C', 0, { loopFreeMs: 60000, closedMs: 60000, hadFeedback: true }),
      task('D', 45000, { receivedMs: 20000 }),
    ];
    const items = () => [end('E1', 10000, false), end('E2', 30000), end('E3', 40000), close('B', 50000), close('C', 60000)];

    it('a task received while every other loop was busy decides whose end came before it', () => {
      const r = solve(tasks(), items(), 60000, undefined, [], { loops: 3, busy: [] });
      expect(r.items.get('E1')).toMatchObject({ taskId: 'A', link: 'determined' });
      // B and C each take one of the later ends, either way round
      expect(r.items.get('E2')).toMatchObject({ link: 'inferred', candidateIds: expect.arrayContaining(['B', 'C']) });
    });

    it('without the count of loops the first end could be any of the three', () => {
      const r = solve(tasks(), items(), 60000);
      expect(r.items.get('E1')).toMatchObject({ link: 'inferred' });
      expect(r.items.get('E1')!.candidateIds.sort()).toEqual(['A', 'B', 'C']);
    });

    it('a task outside the search that is busy counts too', () => {
      // three loops, one busy all along with a task already written: as above, with C outside the search
      const ts = tasks().filter((t) => t.id !== 'C');
      const its = [end('E1', 10000, false), end('E2', 30000), close('B', 50000)];
      const busy = [{ fromMs: 0, toMs: 60000 }];
      expect(solve(ts, its, 60000, undefined, [], { loops: 3, busy }).items.get('E1')).toMatchObject({ taskId: 'A', link: 'determined' });
      expect(solve(ts, its, 60000, undefined, [], { loops: 3, busy: [] }).items.get('E1')).toMatchObject({ link: 'inferred' });
    });

    it('every task ran on one of the endpoints: a task placed nowhere must still fit on one', () => {
      // endpoints g1-g3: O holds g2 all along, R held g3 until 1.5 s. P (received at 1 s, feedback at
      // 20 s) could only have run on g1, so the error naming g1 at 10 s is P's, not Q's (Q went to g3)
      const g = (value: string) => ({ ns: 'g' as const, value });
      const ts = [
        task('O', 0, { fixedBindings: [g('g2')], fixedEnd: { timeMs: 4000, completed: true, late: false }, loopFreeMs: 30000, closedMs: 30000, hadFeedback: true }),
        task('R', 0, { fixedBindings: [g('g3')], fixedEnd: { timeMs: 1200, completed: true, late: false }, loopFreeMs: 1500, closedMs: 1500, hadFeedback: true }),
        task('P', 1000, { loopFreeMs: 20000, closedMs: 20000, hadFeedback: true }),
        task('Q', 2000),
      ];
      const its: WindowItem[] = [end('X', 5000, false), { ...(end('Y', 10000, false) as Extract<WindowItem, { kind: 'end' }>), binding: g('g1') }];
      const endpoints = ['g1', 'g2', 'g3'].map((v) => endpointKey('g', v));
      const placed = solve(ts, its, 20000, undefined, [], { loops: 3, busy: [], endpoints });
      expect(placed.items.get('Y')).toMatchObject({ taskId: 'P', link: 'determined' });
      expect(placed.items.get('X')).toMatchObject({ taskId: 'Q', link: 'determined' });
      // not knowing the endpoints, Y may be Q's
      expect(solve(ts, its, 20000, undefined, [], { loops: 3, busy: [] }).items.get('Y')).toMatchObject({ link: 'inferred', candidates: 2 });
      // a fourth loop beyond the known endpoints could have run P
      expect(solve(ts, its, 20000, undefined, [], { loops: 4, busy: [], endpoints }).items.get('Y')).toMatchObject({ link: 'inferred', candidates: 2 });
      // O outside the search, its endpoint not known: its busy time must still fit on one
      const withoutO = ts.filter((t) => t.id !== 'O');
      const busy = [{ fromMs: 0, toMs: 30000, id: 'O' }];
      expect(solve(withoutO, its, 20000, undefined, [], { loops: 3, busy, endpoints }).items.get('Y')).toMatchObject({ taskId: 'P', link: 'determined' });
      expect(solve(withoutO, its, 20000, undefined, [], { loops: 3, busy: [], endpoints }).items.get('Y')).toMatchObject({ link: 'inferred', candidates: 2 });
    });
  });
});
