/** What a commit keeps (pipeline/commit.ts): the parts of the daemon folded into the previous state. */
import { nextState, type CommitParts } from '../../src/pipeline/commit';
import { emptyState, CollectorStateSchema } from '../../src/pipeline/state-shape';
import { ManualClock } from '../../src/common/clock';

const snapshot = { version: 1 as const, tasks: [], identity: { minerUid: 7, network: 'mainnet' as const }, occurrences: [], pendingQueries: [], lostReceived: [], lastMs: 5 };
const parts = (over: Partial<CommitParts> = {}): CommitParts => ({
  checkpoints: {},
  snapshot,
  outputMarks: {},
  pendingPlys: [],
  quarantined: [],
  miner: null,
  clockOffsets: {},
  warnings: [],
  sessionRecords: 0,
  nowMs: 1000,
  ...over,
});
const q = (offset: number) => ({ file: '/l', offset, length: 1, sha256: 'a'.repeat(64), reason: 'TypeError: x', at: '2026-01-01T00:00:00.000Z' });

test('checkpoints of sources with none now are kept; quarantine keeps the last 100; an offset back to 0 drops out; records written add up across sessions', () => {
  let s = emptyState(new ManualClock());
  s.sources['old:out'] = { path: '/old', identity: null, offset: 9 };
  s = nextState(s, parts({ checkpoints: { 'new:out': { path: '/new', identity: null, offset: 3 } }, quarantined: Array.from({ length: 80 }, (_, i) => q(i)), clockOffsets: { w: 3_600_000 }, sessionRecords: 5 }));
  s = nextState(s, parts({ quarantined: Array.from({ length: 40 }, (_, i) => q(100 + i)), sessionRecords: 8, miner: { readMs: 77, handedMs: null } }));
  expect(Object.keys(s.sources).sort()).toEqual(['new:out', 'old:out']);
  expect(s.quarantine).toHaveLength(100);
  expect(s.quarantine[0]!.offset).toBe(20);
  expect(s.health.clock_offsets_ms).toEqual({ w: 3_600_000 });
  expect(s.health.miner_last_line_read_ms).toBe(77);
  expect(s.counters.records_written).toBe(8);
  // a restart: the daemon starts its session at 0
  s = { ...s, counters: { ...s.counters, session_records: 0 } };
  s = nextState(s, parts({ sessionRecords: 2, clockOffsets: { w: 0 } }));
  expect(s.counters.records_written).toBe(10);
  expect(s.health.clock_offsets_ms).toEqual({});
  expect(s.identity).toEqual({ miner_uid: 7, network: 'mainnet' });
  expect(CollectorStateSchema.safeParse(s).success).toBe(true);
});
