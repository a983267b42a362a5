/**
 * A captured run of the fake miner (bench/attribution.ts, 4 endpoints, generations of 15-45 s, seed
 * 6304), its miner log only, with each image prompt replaced by a short text stand-in (and its log id in
 * the feedback lines with it) to keep the fixture small: ingested without the workers' logs, every end
 * and submit failure a record does not mark `inferred` is its task's. Here a submit failure settled by
 * best fit once taught the tracker its hotkey's validator as a fact, and the next failure of that hotkey
 * went to another validator's task as determined (bench/README.md, attribution, session 18).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runIngest } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig } from '../../src/config';
import { GENERATION_END_EVENTS } from '../../src/assemble';
import { latest, readRecords, utcOf } from '../helpers/truth-match';

interface TruthTask {
  prompt: string;
  received: string;
  crashed: boolean;
  size: number | null;
  submitted: boolean | null;
}

const FIXTURES = path.resolve(__dirname, '../fixtures/attribution');

it('without worker logs, no end or submit failure of a 4-endpoint run is on another task unmarked', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-attribution-capture-'));
  try {
    const truth = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'seed6304-4ep-truth.json'), 'utf8')) as TruthTask[];
    const config = {
      ...defaultConfig(),
      dataDir: path.join(dir, 'data'),
      timeZone: 'UTC',
      store_images: false,
      feedbackTimeoutMinutes: 0.5,
      workers: [1, 2, 3, 4].map((n) => ({ name: `gen-worker-${n}`, pm2App: `gen-worker-${n}`, endpoint: `http://127.0.0.1:${8092 + n}`, logs: [], outputDir: null })),
    };
    const log = path.join(FIXTURES, 'seed6304-4ep-miner-out.log');
    await runIngest({ config, streams: explicitStreams([log], [], null), minerApp: 'miner-sn17-mainnet', host: 'h' });
    const byTime = new Map(truth.map((t) => [utcOf(t.received, 0), t]));
    const records = latest(readRecords(config.dataDir));
    let checkedEnds = 0;
    let checkedSubmits = 0;
    const wrong: string[] = [];
    for (const r of records) {
      const t = byTime.get(r.metadata.timestamp);
      if (!t || t.crashed || t.prompt !== r.task.prompt) continue;
      const sure = (events: ReadonlySet<string>) => r.provenance.links.some((l) => events.has(l.event) && l.link !== 'inferred');
      if (sure(GENERATION_END_EVENTS)) {
        checkedEnds++;
        if (r.generation.output.file_size_bytes !== t.size) wrong.push(`${t.prompt}: size ${r.generation.output.file_size_bytes}, truth ${t.size}`);
      }
      if (sure(new Set(['submit_failed']))) {
        checkedSubmits++;
        if (t.submitted !== false) wrong.push(`${t.prompt}: a submit failure, truth submitted ${t.submitted}`);
      }
    }
    expect(wrong).toEqual([]);
    // what the assertion covers: 55 of the 119 tasks' ends are sure, and submit failures among them
    expect(checkedEnds).toBeGreaterThan(40);
    expect(checkedSubmits).toBeGreaterThan(0);
    const lantern = records.find((r) => r.task.prompt === 'a weathered glass lantern, studio lighting')!;
    expect(lantern).toMatchObject({ outcome: 'rejected', generation: { output: { file_size_bytes: 22177861 } } });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
