/** Which size a record shows when both its end line and a linked output file give one. */
import { emptyRecord } from '../../src/schema';
import { settleOutputSize } from '../../src/assemble/tracker/output-link';
import type { Task } from '../../src/assemble/tracker/book';

function task(endLink: 'named' | 'determined' | 'inferred', fileLink: 'determined' | 'inferred'): Task {
  const record = emptyRecord({ generation_id: 'g', timestamp: '2026-01-01T00:00:00.000Z', host: 'h', miner_app: 'm', collector_version: 'v' });
  record.provenance.links.push({ event: 'generation_completed', link: endLink, candidates: endLink === 'inferred' ? 2 : 1 });
  record.provenance.links.push({ event: 'ply_written', link: fileLink, candidates: fileLink === 'inferred' ? 2 : 1 });
  record.generation.output.file_size_bytes = 2_000_000; // the file's, as linked
  const ply = { path: '/o/a.ply', dir: '/o', name: 'a.ply', size: 2_000_000, mtimeMs: 0, measured: true };
  return { id: 'g', key: 'k', logId: 'l', phase: 'ended', group: null, receivedMs: 0, generatingMs: 0, endedMs: 1, feedbackMs: null, orphanId: null, record, ply, endBytes: 3_000_000 };
}

describe('settleOutputSize', () => {
  it('a file tied by a best fit gives way to an end line that is surely the task\'s', () => {
    const t = task('determined', 'inferred');
    settleOutputSize(t);
    expect(t.record.generation.output.file_size_bytes).toBe(3_000_000);
    expect(t.record.generation.output.file_size_mb).toBeCloseTo(2.861023, 5);
  });

  it.each([
    ['determined', 'determined'],
    ['inferred', 'inferred'],
    ['inferred', 'determined'],
  ] as const)('end %s, file %s: the file\'s size stays', (endLink, fileLink) => {
    const t = task(endLink, fileLink);
    settleOutputSize(t);
    expect(t.record.generation.output.file_size_bytes).toBe(2_000_000);
  });
});
