/**
 * Model-based test of OutputMark (pure: no I/O). Random sequences over a few file names: a file is
 * written (or rewritten) and reported with an mtime that is mostly increasing but may come up to 50 s
 * out of order (files finish out of mtime order; ORDER_SLACK_MS is 60 s), a reported file is handed
 * on (note), the daemon commits `toState(floor)` (floor: the oldest file reported but not handed on),
 * or the process restarts from the last committed state (losing everything noted since, as a crash
 * would). After every action, a mark restarted from the committed state says: every current file
 * version not handed on before that commit is new (nothing lost), every one handed on and committed is
 * not (no duplicate). MODEL_RUNS=20000 npx jest test/sources/output-mark.model for a longer search.
 */
import * as fc from 'fast-check';
import { ORDER_SLACK_MS, OutputMark } from '../../src/sources/output-dir';
import type { OutputDirMark } from '../../src/sources/checkpoint';

const runs = Number(process.env.MODEL_RUNS ?? 2000);
const NAMES = ['a.ply', 'b.ply', 'sub/c.ply', 'd.ply'];
const MAX_LAG_MS = 50_000;
const BASE_MS = Date.UTC(2025, 10, 12, 21, 30, 45, 123);

type Action =
  | { kind: 'write'; file: number; advance: number; lag: number; frac: number }
  | { kind: 'note'; pick: number }
  | { kind: 'commit' }
  | { kind: 'restart' };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      file: fc.nat({ max: NAMES.length - 1 }),
      // mostly small steps, sometimes a long pause (longer than the slack)
      advance: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 5_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 200_000 }) }),
      // mostly in order, sometimes late by up to MAX_LAG_MS
      lag: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: MAX_LAG_MS }) }),
      // real mtimes have sub-millisecond parts
      frac: fc.constantFrom(0, 0.5, 0.123456),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('note' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

interface World {
  now: number;
  /** The files as they are now: name -> mtime. */
  current: Map<string, number>;
  /** Reported and not handed on (in this process's life): name -> mtime. */
  pending: Map<string, number>;
  /** Versions handed on in this process's life or before the last commit: name -> mtime of the last one. */
  handed: Map<string, number>;
  /** `handed` as of the last commit. */
  committedHanded: Map<string, number>;
  committed: OutputDirMark;
  mark: OutputMark;
}

function roundTrip(s: OutputDirMark): OutputDirMark {
  return JSON.parse(JSON.stringify(s)) as OutputDirMark;
}

function apply(w: World, a: Action): void {
  switch (a.kind) {
    case 'write': {
      const name = NAMES[a.file]!;
      w.now += a.advance;
      const prev = w.current.get(name);
      // A file's own mtime only moves forward (a later write is later); other files may be older.
      const m = Math.max(w.now - a.lag - a.frac, prev === undefined ? Number.NEGATIVE_INFINITY : prev + 1);
      w.now = Math.max(w.now, m);
      w.current.set(name, m);
      w.pending.set(name, m); // the watcher reports each complete version (a rewrite replaces the old one)
      break;
    }
    case 'note': {
      const names = [...w.pending.keys()].sort();
      if (names.length === 0) return;
      const name = names[a.pick % names.length]!;
      const m = w.pending.get(name)!;
      w.mark.note(name, m);
      w.pending.delete(name);
      w.handed.set(name, m);
      break;
    }
    case 'commit': {
      const floor = Math.min(Number.POSITIVE_INFINITY, ...w.pending.values());
      const state = w.mark.toState(floor);
      // what toState returns is the mark itself, and survives the state file's JSON
      expect(new OutputMark(roundTrip(state))).toEqual(w.mark);
      expect(new OutputMark(roundTrip(state)).toState(floor)).toEqual(state);
      expect(state.high_water_mtime_ms).toBeLessThan(floor);
      for (const m of Object.values(state.recent)) expect(m).toBeGreaterThan(state.high_water_mtime_ms);
      w.committed = roundTrip(state);
      w.committedHanded = new Map(w.handed);
      break;
    }
    case 'restart': {
      w.mark = new OutputMark(roundTrip(w.committed));
      w.handed = new Map(w.committedHanded);
      // the start scan reports again every file version the committed tracker does not have
      w.pending = new Map([...w.current].filter(([name, m]) => w.committedHanded.get(name) !== m));
      break;
    }
  }
}

function check(w: World): void {
  const restarted = new OutputMark(roundTrip(w.committed));
  for (const [name, m] of w.current) {
    const committedHere = w.committedHanded.get(name) === m;
    // after a crash now: nothing lost (not committed -> new), no duplicate (committed -> not new)
    if (restarted.isNew(name, m) !== !committedHere)
      throw new Error(`restart from ${JSON.stringify(w.committed)}: isNew(${name}, ${m}) is ${!committedHere ? 'false: lost' : 'true: duplicate'}`);
    // the live mark: a pending version is still wanted, a handed-on one is not offered again
    if (w.pending.get(name) === m && !w.mark.isNew(name, m)) throw new Error(`live mark: pending ${name}@${m} not new`);
    if (w.handed.get(name) === m && w.mark.isNew(name, m)) throw new Error(`live mark: handed-on ${name}@${m} new again`);
  }
}

function newWorld(): World {
  const committed: OutputDirMark = { high_water_mtime_ms: -1, recent: {} };
  return {
    now: BASE_MS,
    current: new Map(),
    pending: new Map(),
    handed: new Map(),
    committedHanded: new Map(),
    committed,
    mark: OutputMark.fresh('beginning', BASE_MS),
  };
}

describe('OutputMark model', () => {
  test(`${runs} sequences of writes (out of order by up to ${MAX_LAG_MS / 1000} s), hand-ons, commits and restarts`, () => {
    expect(MAX_LAG_MS).toBeLessThan(ORDER_SLACK_MS);
    fc.assert(
      fc.property(fc.array(actionArb, { maxLength: 80 }), (actions) => {
        const w = newWorld();
        check(w);
        for (const a of actions) {
          apply(w, a);
          check(w);
        }
      }),
      { numRuns: runs },
    );
  });
});

describe('OutputMark examples', () => {
  const now = BASE_MS;

  test("fresh('end'): files at or before now are not new, later ones are", () => {
    const mark = OutputMark.fresh('end', now);
    expect(mark.isNew('old.ply', now - 1)).toBe(false);
    expect(mark.isNew('old.ply', now - 86_400_000)).toBe(false);
    expect(mark.isNew('same.ply', now)).toBe(false);
    expect(mark.isNew('new.ply', now + 1)).toBe(true);
    expect(mark.toState()).toEqual({ high_water_mtime_ms: now, recent: {} });
  });

  test("fresh('beginning'): everything is new", () => {
    const mark = OutputMark.fresh('beginning', now);
    expect(mark.isNew('x.ply', 0)).toBe(true);
    expect(mark.isNew('x.ply', 1_000)).toBe(true);
    expect(mark.isNew('x.ply', now - 86_400_000 * 365)).toBe(true);
    expect(mark.isNew('x.ply', now + 1)).toBe(true);
  });

  test('a file handed on is not new again; rewritten in place (same name, newer mtime) it is', () => {
    const mark = OutputMark.fresh('beginning', now);
    mark.note('x.ply', now);
    expect(mark.isNew('x.ply', now)).toBe(false);
    expect(mark.isNew('x.ply', now + 10)).toBe(true);
    expect(mark.isNew('y.ply', now)).toBe(true);
    // also after a commit and a restart, both while in the slack and once the mark has passed it
    const kept = new OutputMark(roundTrip(mark.toState()));
    expect(kept.isNew('x.ply', now)).toBe(false);
    expect(kept.isNew('x.ply', now + 10)).toBe(true);
    kept.note('z.ply', now + 2 * ORDER_SLACK_MS);
    const later = new OutputMark(roundTrip(kept.toState()));
    expect(later.isNew('x.ply', now)).toBe(false);
    expect(later.isNew('x.ply', now + 10)).toBe(false); // the mark passed it: a rewrite that old is below the slack
    expect(later.isNew('x.ply', now + 3 * ORDER_SLACK_MS)).toBe(true);
  });

  test('toState keeps the names within the slack, forgets the ones it covers, never passes the floor', () => {
    const mark = OutputMark.fresh('beginning', now);
    mark.note('a.ply', now);
    mark.note('b.ply', now + ORDER_SLACK_MS + 5);
    mark.note('c.ply', now + ORDER_SLACK_MS + 10);
    // a file reported at now + 3 and not handed on holds the mark below it
    const held = new OutputMark(roundTrip(mark.toState(now + 3)));
    expect(held.toState(now + 3)).toEqual({ high_water_mtime_ms: now + 2, recent: { 'b.ply': now + ORDER_SLACK_MS + 5, 'c.ply': now + ORDER_SLACK_MS + 10 } });
    expect(held.isNew('p.ply', now + 3)).toBe(true);
    expect(held.isNew('a.ply', now)).toBe(false);
    expect(mark.toState()).toEqual({ high_water_mtime_ms: now + 10, recent: { 'b.ply': now + ORDER_SLACK_MS + 5, 'c.ply': now + ORDER_SLACK_MS + 10 } });
    // the mark never goes back
    expect(mark.toState(0)).toEqual({ high_water_mtime_ms: now + 10, recent: { 'b.ply': now + ORDER_SLACK_MS + 5, 'c.ply': now + ORDER_SLACK_MS + 10 } });
  });

  test('toState bounds recent at 10,000 names and keeps the newest', () => {
    const mark = OutputMark.fresh('beginning', now);
    const n = 10_050;
    const name = (i: number): string => `burst/${String(i).padStart(5, '0')}.ply`;
    // a burst: all within the slack, so only the cap can drop names
    for (let i = 0; i < n; i++) mark.note(name(i), now + i);
    const state = roundTrip(mark.toState());
    const kept = Object.keys(state.recent);
    expect(kept.length).toBeLessThanOrEqual(10_000);
    expect(kept.length).toBeGreaterThan(9_000);
    for (let i = n - kept.length; i < n; i++) expect(state.recent[name(i)]).toBe(now + i);
    // the dropped (oldest) names are covered by the high-water mark: none comes again after a restart
    const restarted = new OutputMark(state);
    for (let i = 0; i < n; i++) if (restarted.isNew(name(i), now + i)) throw new Error(`${name(i)} new again`);
    expect(restarted.isNew('next.ply', now + n)).toBe(true);
  });
});

test('the cap on recent names never covers a file in flight', () => {
  const t0 = Date.UTC(2025, 10, 12);
  const mark = OutputMark.fresh('beginning', t0);
  for (let i = 0; i < 10_050; i++) mark.note(`f${i}.ply`, t0 + i);
  const pending = t0 + 10; // reported, not handed on
  const state = mark.toState(pending);
  expect(state.high_water_mtime_ms).toBeLessThan(pending);
  expect(new OutputMark(state).isNew('late.ply', pending)).toBe(true);
});

test('the mark never passes the newest mtime a listing confirmed (a file chokidar has not reported yet)', () => {
  const t0 = Date.UTC(2025, 10, 12);
  const mark = OutputMark.fresh('beginning', t0);
  for (let i = 0; i < 10; i++) mark.note(`f${i}.ply`, t0 + i * 60_000); // ten minutes of files
  const listed = t0 + 2 * 60_000; // the last listing saw files up to the third
  const state = mark.toState(Number.POSITIVE_INFINITY, listed);
  expect(state.high_water_mtime_ms).toBe(listed);
  // a file from between the listing and the newest handed on, not reported yet, is still new after a restart
  expect(new OutputMark(state).isNew('slow.ply', t0 + 5 * 60_000)).toBe(true);
  expect(new OutputMark(state).isNew('f1.ply', t0 + 60_000)).toBe(false);
  expect(new OutputMark(state).isNew('f7.ply', t0 + 7 * 60_000)).toBe(false);
});
