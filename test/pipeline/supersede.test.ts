/**
 * A feedback line whose task was never seen still gives a record (what is known, marked incomplete);
 * when a later ingest reads the task's beginning (a backfill of older logs), the full record names
 * the first one in provenance.supersedes, and readers keep only the full one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runIngest } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig } from '../../src/config';
import type { GenerationRecord } from '../../src/schema';

const line = (t: string, msg: string) => `2025-11-12 21:30:${t} |      DEBUG       | bittensor:workers.py:87 | ${msg}\n`;

it('a feedback-only record is superseded once the task is read', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-supersede-'));
  const older = path.join(dir, 'miner-sn17-mainnet-out__2025-11-12_21-30-50.log');
  const newer = path.join(dir, 'miner-sn17-mainnet-out.log');
  fs.writeFileSync(
    older,
    line('45.100', 'Querying task from [57]. Stake: 1.0') +
      line('45.200', 'Task received. Prompt: a red chair.') +
      line('45.300', 'Generating for prompt: a red chair with timeout None seconds') +
      line('50.000', 'Generation completed. Size: 1234'),
  );
  fs.writeFileSync(newer, line('59.000', 'Feedback received from [57]. Score: 0.8. (a red chair)') + line('59.010', 'Average score: 0.6. Accepted results (last 4h): 1. Reward: 0.01.'));
  const config = { ...defaultConfig(), dataDir: path.join(dir, 'data'), timeZone: 'UTC', workers: [] };
  const ingest = (files: string[]) => runIngest({ config, streams: explicitStreams(files, [], 'miner-sn17-mainnet'), minerApp: 'miner-sn17-mainnet', host: 'h' });

  expect((await ingest([newer])).records).toBe(1);
  expect((await ingest([older, newer])).records).toBe(1);
  const recs = fs
    .readFileSync(path.join(config.dataDir, 'generation_history.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as GenerationRecord);
  expect(recs).toHaveLength(2);
  const [orphan, full] = recs as [GenerationRecord, GenerationRecord];
  expect(orphan.provenance.incomplete_reasons).toEqual(['task_not_seen']);
  expect(orphan.task.log_id).toBe('a red chair');
  expect(orphan.validator_feedback.score).toBe(0.8);
  expect(full.provenance.supersedes).toEqual([orphan.metadata.generation_id]);
  expect(full.provenance.incomplete).toBe(false);
  expect(full.outcome).toBe('accepted');
  expect(full.generation.output.file_size_bytes).toBe(1234);
  expect(full.metadata.timestamp).toBe('2025-11-12T21:30:45.200Z');
  // a third run writes nothing new
  expect((await ingest([older, newer])).records).toBe(0);
});
