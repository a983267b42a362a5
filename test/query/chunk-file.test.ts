/** The scan's chunks kept in a temporary file: what is read back is what was stored, and nothing is left on disk. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChunkFile } from '../../src/query/chunk-file';
import { ChunkBuilder, type Chunk } from '../../src/query/columns';
import { CollectorError } from '../../src/common/errors';
import type { GenerationRecord } from '../../src/schema';

const record = (id: string, rev: number, timing: Record<string, number>, host: string): GenerationRecord =>
  ({
    metadata: { generation_id: id, timestamp: new Date(1_750_000_000_000 + rev * 1000).toISOString(), validator_uid: rev % 7, host },
    outcome: 'accepted',
    provenance: { revision: rev, links: [] },
    generation: { timing, output: { quality_metrics: { clip_score: rev / 100 } } },
    validator_feedback: { received: true, score: rev / 10 },
  }) as unknown as GenerationRecord;

/** A chunk of `n` rows; its timing stages differ per chunk, one of them named like an integer (an object would move it first). */
function chunkOf(k: number, n: number): Chunk {
  const b = new ChunkBuilder();
  // the stage named like an integer comes after the first row: the builder meets it last
  for (let i = 0; i < n; i++) b.add(record(`g-${k}-${i}`, k * 1000 + i, { total_time: i + 0.5, [`stage_${k % 3}`]: k, ...(i > 0 ? { '7': i * 2 } : {}) }, `host-${k % 2}`), i);
  return b.finish(new ArrayBuffer(b.bytesNeeded() + 64));
}

/** The values of a chunk's columns, as plain arrays. */
function plain(c: Chunk): unknown {
  const cols = Object.fromEntries(Object.entries(c).filter(([, v]) => ArrayBuffer.isView(v)).map(([k, v]) => [k, Array.from(v as Float64Array)]));
  return { ...cols, n: c.n, hosts: c.hosts, stages: Object.fromEntries(c.stageNames.map((s) => [s, Array.from(c.stages[s]!)])), stageNames: c.stageNames };
}

describe('ChunkFile', () => {
  it("gives back every chunk as stored, in unit order, however the units' chunks interleaved; leaves no file behind", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-chunk-file-'));
    try {
      const sizes = [3, 0, 1200, 17, 450];
      const chunks = sizes.map((n, k) => chunkOf(k, n));
      const want = chunks.map(plain);
      const unitOf = [0, 0, 1, 2, 2];
      const store = new ChunkFile(dir);
      expect(fs.readdirSync(dir)).toEqual([]);
      // units come in any order, each unit's chunks in order
      for (const k of [2, 0, 3, 1, 4]) store.put(unitOf[k]!, chunks[k]!);
      expect(store.length).toBe(5);
      expect([0, 1, 2, 3, 4].map((k) => store.unitOf(k))).toEqual(unitOf);
      const seen: unknown[] = [];
      store.forEach((c, k) => {
        expect(k).toBe(seen.length);
        seen.push(plain(c));
      });
      expect(seen).toEqual(want);
      // columns read alone: the same values; a stage a chunk lacks is undefined
      const alone: unknown[] = [];
      store.forEachColumns([{ col: 'score' }, { stage: 'stage_1' }, { col: 'validator' }], ([score, stage, validator], k, n) => {
        expect(n).toBe(sizes[k]);
        alone.push({ score: Array.from(score!), stage: stage && Array.from(stage), validator: Array.from(validator!) });
      });
      expect(alone).toEqual(chunks.map((c) => ({ score: Array.from(c.score), stage: c.stages['stage_1'] && Array.from(c.stages['stage_1']), validator: Array.from(c.validator) })));
      expect(store.meta(4).n).toBe(450);
      expect(store.stageNames().sort()).toEqual(['7', 'stage_0', 'stage_1', 'stage_2', 'total_time']);
      store.close();
      expect(() => store.meta(0)).toThrow(/closed/);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a directory it cannot write to is a clear error naming TMPDIR', () => {
    const missing = path.join(os.tmpdir(), `dc-no-such-dir-${process.pid}`, 'x');
    let caught: unknown;
    try {
      new ChunkFile(missing);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CollectorError);
    expect((caught as CollectorError).hint).toMatch(/TMPDIR/);
  });
});
