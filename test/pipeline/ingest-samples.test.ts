/**
 * `ingest` over what a real PM2 wrote in its three modes (test/fixtures/pm2-samples, captured from
 * a real PM2 7). Expected values come from the raw files by an independent reading in this test.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { createBLAKE3 } from 'hash-wasm';
import { runIngest } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig } from '../../src/config';
import { parseRecordLine, type GenerationRecord } from '../../src/schema';

const SAMPLES = path.resolve(__dirname, '../fixtures/pm2-samples');

function files(mode: string) {
  const d = path.join(SAMPLES, mode);
  return {
    miner: [path.join(d, 'miner-sn17-mainnet-out.log'), path.join(d, 'miner-sn17-mainnet-error.log')],
    workers: ['gen-worker-1', 'gen-worker-2'].flatMap((w) => [path.join(d, `${w}-out.log`), path.join(d, `${w}-error.log`)]),
  };
}

async function ingest(mode: string, dataDir: string) {
  const f = files(mode);
  const config = { ...defaultConfig(), dataDir, timeZone: 'UTC' };
  const streams = explicitStreams(f.miner, f.workers, null);
  return runIngest({ config, streams, minerApp: 'miner-sn17-mainnet', host: 'test-host' });
}

function records(dataDir: string): GenerationRecord[] {
  return fs
    .readFileSync(path.join(dataDir, 'generation_history.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => {
      const p = parseRecordLine(l);
      if (!p.ok) throw new Error(p.error);
      return p.record;
    });
}

/** Every feedback line of the plain file, read with a plain regex: validator, score, log id. */
function plainFeedback(): { uid: number; score: number; logId: string }[] {
  // eslint-disable-next-line no-control-regex -- strips the ANSI colour codes
  const text = fs.readFileSync(files('pm2-plain').miner[0]!, 'latin1').replace(/\x1b\[[0-9;]*m/g, '');
  return [...text.matchAll(/Feedback received from \[(\d+)\]\. Score: ([\d.]+)\. \((.*)\)\n/g)].map((m) => ({
    uid: Number(m[1]),
    score: Number(m[2]),
    logId: Buffer.from(m[3]!, 'latin1').toString('utf8'),
  }));
}

/** Every distinct image prompt of the plain file: its sha256 (decoded) and its log id (BLAKE3 of the text). */
async function plainImages(): Promise<Map<string, string>> {
  const text = fs.readFileSync(files('pm2-plain').miner[0]!, 'latin1');
  const blake = await createBLAKE3();
  const out = new Map<string, string>();
  for (const m of text.matchAll(/Task received\. Prompt: ([A-Za-z0-9+/=]{1000,})\.\n/g)) {
    const b64 = m[1]!;
    blake.init();
    blake.update(b64);
    out.set(`image:${blake.digest('hex')}`, createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex'));
  }
  return out;
}

describe('ingest of real PM2 files', () => {
  it('plain mode: one faithful record per task, images stored under their hash, nothing twice', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-ingest-'));
    const first = await ingest('pm2-plain', dir);
    const recs = records(dir);
    const feedback = plainFeedback();
    expect(feedback).toHaveLength(6);
    expect(recs).toHaveLength(6);
    expect(first.records).toBe(6);
    const images = await plainImages();
    for (const fb of feedback) {
      const r = recs.find((x) => x.task.log_id === fb.logId)!;
      expect(r).toBeDefined();
      expect(r.metadata.validator_uid).toBe(fb.uid);
      expect(r.validator_feedback.score).toBe(fb.score);
      expect(r.outcome).toBe(fb.score > 0 ? 'accepted' : 'rejected');
      expect(r.metadata.miner_uid).toBe(226);
      expect(r.metadata.network).toBe('mainnet');
      expect(r.provenance.incomplete).toBe(false);
      if (fb.logId.startsWith('image:')) {
        const sha = images.get(fb.logId)!;
        expect(r.task.base64_image_hash).toBe(`sha256:${sha}`);
        expect(r.task.image_file_path).toBe(`images/${sha}.png`);
        const stored = fs.readFileSync(path.join(dir, r.task.image_file_path!));
        expect(createHash('sha256').update(stored).digest('hex')).toBe(sha);
      } else {
        expect(r.task.task_type).toBe('TEXT-TO-3D');
        expect(r.task.prompt!.startsWith(fb.logId.replace(/\.\.\.$/, ''))).toBe(true);
      }
    }
    const again = await ingest('pm2-plain', dir);
    expect(again.records).toBe(0);
    expect(records(dir)).toHaveLength(6);
  });

  it.each(['pm2-date-prefix', 'pm2-json'])('%s: a record per feedback line, no phantom, no wallet detail', async (mode) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-ingest-'));
    const s = await ingest(mode, dir);
    const recs = records(dir);
    const text = fs.readFileSync(files(mode).miner[0]!, 'latin1');
    const feedbackLines = (text.match(/Feedback received from \[/g) ?? []).length;
    const submitFailed = (text.match(/Failed to submit results to \[/g) ?? []).length;
    expect(recs.filter((r) => r.validator_feedback.received)).toHaveLength(feedbackLines);
    expect(recs.filter((r) => r.outcome === 'submit_failed')).toHaveLength(submitFailed);
    // every record is a task of the log: its log id appears in the file (text) or its image was intact
    for (const r of recs) expect(r.task.log_id).not.toBeNull();
    expect(recs.length).toBeLessThanOrEqual((text.match(/Task received\. Prompt: /g) ?? []).length + 1);
    expect(s.invalid).toBe(0);
    for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
      const p = path.join(dir, f);
      if (fs.statSync(p).isFile() && !f.startsWith('images')) expect(fs.readFileSync(p, 'utf8')).not.toMatch(/sn17-cold|sn17-hot|wallets/);
    }
  });
});
