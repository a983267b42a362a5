/**
 * The scan on worker threads (compiled, from dist/: jest runs the TypeScript sources, where no worker can
 * start) gives what the main thread alone gives: the same rows kept, the same figures. Small units, so
 * each worker takes many, asks the main thread for each chunk's buffer and reuses its builder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyze, loadDataset, select, filterFromFlags } from '../../src/query';
import { buildFleet, NOW } from './fixture';

const DIST_QUERY = path.resolve(__dirname, '../../dist/src/query/index.js');

test.each([100, 1000])('three threads over units of %d bytes give what the main thread alone gives', async (chunkBytes) => {
  const dist = require(DIST_QUERY) as typeof import('../../src/query');
  const fleet = buildFleet();
  try {
    const dataDirs = [fleet.a, fleet.b];
    const alone = await loadDataset({ dataDirs, threads: 1, chunkBytes });
    const threaded = await dist.loadDataset({ dataDirs, threads: 3, chunkBytes });
    expect(threaded.units.length).toBeGreaterThan(6); // many units per worker
    expect(threaded.stats).toEqual(alone.stats);
    const byThreads = dist.analyze(threaded, dist.select(threaded, dist.filterFromFlags({}, NOW)));
    expect(JSON.stringify(byThreads)).toBe(JSON.stringify(analyze(alone, select(alone, filterFromFlags({}, NOW)))));
  } finally {
    fs.rmSync(fleet.root, { recursive: true, force: true });
  }
});
