/**
 * A DST fall-back in the logs' zone (issue 15, item 6): Europe/Berlin on 2025-10-26 goes through
 * 02:00-02:59 twice (CEST, then CET). Plain logs carry local times without a zone: the order of the
 * lines settles which 02:30 is which, so every record's time is the true instant, none an hour early.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runIngest } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig } from '../../src/config';
import type { GenerationRecord } from '../../src/schema';

const berlin = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
/** The local time a Berlin host's logger writes for an instant, with milliseconds. */
const local = (ms: number) => `${berlin.format(new Date(ms))}.${String(ms % 1000).padStart(3, '0')}`;
const line = (ms: number, msg: string) => `${local(ms)} |      DEBUG       | bittensor:workers.py:87 | ${msg}\n`;

test('tasks every 5 minutes through the repeated hour: each record at its true instant, in order', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-dst-'));
  try {
    const log = path.join(dir, 'miner-sn17-mainnet-out.log');
    const instants: number[] = [];
    let text = '';
    // 01:40 CEST (23:40 UTC) to 03:20 CET (02:20 UTC): 02:00-02:59 local twice
    for (let t = Date.UTC(2025, 9, 25, 23, 40, 0, 250); t <= Date.UTC(2025, 9, 26, 2, 20); t += 5 * 60_000) {
      const prompt = `a chair made at ${t}`;
      instants.push(t);
      text +=
        line(t - 100, 'Querying task from [57]. Stake: 1.0') +
        line(t, `Task received. Prompt: ${prompt}.`) +
        line(t + 1000, `Generating for prompt: ${prompt} with timeout None seconds`) +
        line(t + 30_000, 'Generation completed. Size: 1234') +
        line(t + 60_000, `Feedback received from [57]. Score: 0.8. (${prompt})`) +
        line(t + 60_010, 'Average score: 0.6. Accepted results (last 4h): 1. Reward: 0.01.');
    }
    fs.writeFileSync(log, text);
    expect(text).toContain('2025-10-26 02:30:00.250'); // twice: the hour repeats
    expect(text.split('2025-10-26 02:30:00.250 | ').length - 1).toBe(2);
    const config = { ...defaultConfig(), dataDir: path.join(dir, 'data'), timeZone: 'Europe/Berlin', workers: [] };
    const summary = await runIngest({ config, streams: explicitStreams([log], [], 'miner-sn17-mainnet'), minerApp: 'miner-sn17-mainnet', host: 'h' });
    expect(summary.records).toBe(instants.length);
    const records = fs
      .readFileSync(path.join(config.dataDir, 'generation_history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as GenerationRecord);
    const byPrompt = new Map(records.map((r) => [r.task.prompt, r]));
    for (const t of instants) {
      const r = byPrompt.get(`a chair made at ${t}`)!;
      expect({ t: new Date(t).toISOString(), got: r.metadata.timestamp, outcome: r.outcome }).toEqual({ t: new Date(t).toISOString(), got: new Date(t).toISOString(), outcome: 'accepted' });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
