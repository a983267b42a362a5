/** Small records for store tests: the store is generic; the generation record wiring is tested apart. */
import type { JsonlStoreOptions } from '../../../src/sinks/jsonl-store';

export interface TestRecord {
  id: string;
  rev: number;
  pad: string;
}

export function testRecord(id: string, bytes = 3000, rev = 0): TestRecord {
  const base = JSON.stringify({ id, rev, pad: '' }).length;
  return { id, rev, pad: 'x'.repeat(Math.max(0, bytes - base)) };
}

export function testStoreOptions(dataDir: string, staleMs = 2000): JsonlStoreOptions<TestRecord> {
  return {
    dataDir,
    fileName: 'generation_history.jsonl',
    keyOfRecord: (r) => `${r.id}#${r.rev}`,
    keyOfStored: (o) => {
      const r = o as Partial<TestRecord>;
      return typeof r.id === 'string' && typeof r.rev === 'number' ? `${r.id}#${r.rev}` : null;
    },
    serialize: (r) => JSON.stringify(r),
    lock: { staleMs, waitMs: 60000 },
  };
}
