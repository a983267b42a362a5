/**
 * The miner's settings file: its values reach the records of tasks received after it is read, and
 * every change (the first read included) is one line of miner_config_history.jsonl, not repeated
 * when the daemon restarts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Daemon } from '../../src/pipeline/daemon';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig } from '../../src/config';
import { parseMinerConfigHistoryLine, type GenerationRecord } from '../../src/schema';

const line = (t: string, msg: string) => `${t} |      DEBUG       | bittensor:workers.py:87 | ${msg}\n`;

async function until(cond: () => boolean, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function linesOf(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

it('settings file -> miner_config of new records, and one history line per change', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-settings-'));
  const log = path.join(dir, 'miner-sn17-mainnet-out.log');
  const settings = path.join(dir, 'miner-settings.json');
  fs.writeFileSync(log, '');
  fs.writeFileSync(settings, JSON.stringify({ trellis_sparse_steps: 45, clip_threshold: 0.1 }));
  const config = { ...defaultConfig(), dataDir: path.join(dir, 'data'), timeZone: 'UTC', minerConfigFile: settings, workers: [] };
  const history = path.join(config.dataDir, 'miner_config_history.jsonl');
  const records = path.join(config.dataDir, 'generation_history.jsonl');
  const start = async () => {
    const d = new Daemon({ config, streams: explicitStreams([log], [], null), minerApp: 'miner-sn17-mainnet' });
    await d.start();
    return d;
  };
  let daemon = await start();
  try {
    expect(linesOf(history)).toHaveLength(1);
    const first = parseMinerConfigHistoryLine(linesOf(history)[0]!);
    expect(first.ok && first.record.changes).toEqual([
      { key: 'clip_threshold', old: null, new: 0.1 },
      { key: 'trellis_sparse_steps', old: null, new: 45 },
    ]);
    // an operator edits the settings: a new history line, and new tasks carry the new value
    fs.writeFileSync(settings, JSON.stringify({ trellis_sparse_steps: 50, clip_threshold: 0.1 }));
    await until(() => linesOf(history).length === 2);
    const second = parseMinerConfigHistoryLine(linesOf(history)[1]!);
    expect(second.ok && second.record.changes).toEqual([{ key: 'trellis_sparse_steps', old: 45, new: 50 }]);
    expect(second.ok && second.record.config).toEqual({ trellis_sparse_steps: 50, clip_threshold: 0.1 });
    const t = '2025-11-12 21:30:45.';
    fs.appendFileSync(
      log,
      line(`${t}100`, 'Task received. Prompt: a chair.') +
        line(`${t}200`, 'Generating for prompt: a chair with timeout None seconds') +
        line(`${t}300`, 'Generation completed. Size: 10') +
        line(`${t}400`, 'Feedback received from [57]. Score: 0.7. (a chair)') +
        line(`${t}500`, 'Average score: 0.6. Accepted results (last 4h): 1. Reward: 0.01.'),
    );
    await until(() => linesOf(records).length === 1);
    const r = JSON.parse(linesOf(records)[0]!) as GenerationRecord;
    expect(r.miner_config.trellis_sparse_steps).toBe(50);
    expect(r.miner_config.clip_threshold).toBe(0.1);
    // a restart reads the same settings: nothing new in the history
    await daemon.stop();
    daemon = await start();
    expect(linesOf(history)).toHaveLength(2);
  } finally {
    await daemon.stop();
  }
}, 60000);
