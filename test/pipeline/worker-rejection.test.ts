/**
 * A worker's own "Rejected before submission" line is evidence enough that the generation failed,
 * even when the miner's failure line is not seen for that task (lost, or taken by another task by a
 * guess): the record says generation_failed / pre_submission_rejection, and that its end was not seen.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runIngest } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig } from '../../src/config';
import type { GenerationRecord } from '../../src/schema';

const miner = (s: string, msg: string) => `2025-11-12 21:30:${s} |      DEBUG       | bittensor:workers.py:87 | ${msg}\n`;
const worker = (s: string, level: string, msg: string) => `2025-11-12 21:30:${s} | ${level.padEnd(8)} | serve:generate:127 - ${msg}\n`;

it('a pre-submission rejection the worker logged makes the outcome, without the miner\'s failure line', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-worker-rejection-'));
  try {
    const minerLog = path.join(dir, 'miner-sn17-mainnet-out.log');
    const workerLog = path.join(dir, 'gen-worker-1-error.log');
    fs.writeFileSync(
      minerLog,
      miner('40.000', 'Task received. Prompt: a red chair.') +
        miner('40.100', 'Generating for prompt: a red chair with timeout None seconds') +
        miner('58.000', 'Feedback received from [57]. Score: 0. (a red chair)'),
    );
    fs.writeFileSync(workerLog, worker('40.200', 'INFO', 'Request received: text prompt (11 chars)') + worker('49.000', 'WARNING', 'Rejected before submission: clip_below_threshold'));
    const rulesFile = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../examples/rules.custom-worker.json'), 'utf8')) as unknown;
    const config = { ...defaultConfig(), dataDir: path.join(dir, 'data'), timeZone: 'UTC', workers: [] };
    await runIngest({ config, streams: explicitStreams([minerLog], [`gen-worker-1=${workerLog}`], 'miner-sn17-mainnet'), minerApp: 'miner-sn17-mainnet', rulesFile, host: 'h' });
    const [r] = fs.readFileSync(path.join(config.dataDir, 'generation_history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as GenerationRecord);
    expect(r!.outcome).toBe('generation_failed');
    expect(r!.failure_analysis).toMatchObject({ failed: true, error_type: 'pre_submission_rejection', error_message: 'rejected before submission: clip_below_threshold' });
    expect(r!.generation.submission).toMatchObject({ pre_submission_rejection: true, rejection_reason: 'clip_below_threshold', submitted: true });
    expect(r!.provenance.incomplete_reasons).toEqual(['generation_end_not_seen']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
