/**
 * Keeping linked PLYs (PlyKeeper) and measuring them (measureLinkedPly) on real files: accepted ones
 * are copied into ply_files/ with their hash verified; rejected ones are not kept unless configured;
 * a switch, low disk, a file rewritten or removed by the worker each give their blobs_skipped reason.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { FinishedRecord, LinkedPly } from '../../src/assemble';
import { measureLinkedPly, PlyKeeper } from '../../src/pipeline/ply-files';
import { emptyRecord, GenerationRecordSchema } from '../../src/schema';
import { BlobStore } from '../../src/sinks';
import { BlobPolicy, type BlobSettings } from '../../src/sinks/space';
import { silentLogger } from '../../src/common/logger';

const MONKEY = path.resolve(__dirname, '../fixtures/ply/monkey.ply');
const MONKEY_SHA = createHash('sha256').update(fs.readFileSync(MONKEY)).digest('hex');
const ID = '0f8e6c2a-3b1d-5e4f-8a9b-1c2d3e4f5a6b';

let dir: string;
let out: string;
let data: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-ply-files-'));
  out = path.join(dir, 'outputs');
  data = path.join(dir, 'data');
  fs.mkdirSync(out);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function linked(name = 'gen.ply', from = MONKEY): LinkedPly {
  const p = path.join(out, name);
  fs.copyFileSync(from, p);
  const st = fs.statSync(p);
  return { path: p, dir: out, name, size: st.size, mtimeMs: st.mtimeMs, measured: false };
}

function finished(ply: LinkedPly, accepted: boolean | null): FinishedRecord {
  const record = emptyRecord({ generation_id: ID, timestamp: '2025-11-12T21:30:45.123Z', host: 'h', miner_app: 'm', collector_version: '0' });
  record.validator_feedback.accepted = accepted;
  record.outcome = accepted ? 'accepted' : 'rejected';
  return { record, supersedesIfPresent: [], ply };
}

const SETTINGS: BlobSettings = { store_images: true, store_ply_files: true, minFreeBytes: 0, retention: { keepRejectedPly: false } };
function keeper(settings: Partial<BlobSettings> = {}, free: number | null = 1e12): PlyKeeper {
  const policy = new BlobPolicy(data, { ...SETTINGS, ...settings }, { freeBytes: () => free });
  return new PlyKeeper(new BlobStore(data), policy, silentLogger);
}
const stored = () => (fs.existsSync(path.join(data, 'ply_files')) ? fs.readdirSync(path.join(data, 'ply_files')) : []);

test('measuring: the figures of the file; a rewritten file or a missing one gives an error value, never a throw', async () => {
  const ply = linked();
  const ok = await measureLinkedPly(ply);
  expect(ok.ok && ok.summary.num_gaussians).toBe(36039);
  expect(ok.ok && ok.summary.ply_file_hash).toBe(`sha256:${MONKEY_SHA}`);
  fs.appendFileSync(ply.path, 'more');
  const changed = await measureLinkedPly(ply);
  expect(!changed.ok && changed.error.code).toBe('FILE_CHANGED');
  fs.rmSync(ply.path);
  const missing = await measureLinkedPly(ply);
  expect(!missing.ok && missing.error.code).toBe('NOT_FOUND');
});

test('an accepted generation: measured if it was not yet, copied, hash verified, path in the record', async () => {
  const f = finished(linked(), true);
  await keeper().complete([f]);
  const o = f.record.generation.output;
  expect(o.num_gaussians).toBe(36039);
  expect(o.ply_file_hash).toBe(`sha256:${MONKEY_SHA}`);
  expect(o.ply_file_path).toBe(`ply_files/${ID}_${MONKEY_SHA}.ply`);
  const copy = fs.readFileSync(path.join(data, o.ply_file_path!));
  expect(createHash('sha256').update(copy).digest('hex')).toBe(MONKEY_SHA);
  expect(fs.statSync(path.join(data, o.ply_file_path!)).ino).not.toBe(fs.statSync(f.ply!.path).ino); // a copy, never a link
  expect(GenerationRecordSchema.safeParse(f.record).success).toBe(true);
  // a retry of the same batch (the append failed) decides nothing twice
  await keeper().complete([f]);
  expect(f.record.provenance.blobs_skipped).toEqual([]);
  expect(stored()).toHaveLength(1);
});

test('a rejected generation is not kept, unless retention.keepRejectedPly', async () => {
  const rejected = finished(linked('r.ply'), false);
  await keeper().complete([rejected]);
  expect(rejected.record.generation.output.ply_file_path).toBeNull();
  expect(rejected.record.generation.output.ply_file_hash).toBe(`sha256:${MONKEY_SHA}`); // measured all the same
  expect(rejected.record.provenance.blobs_skipped).toEqual([]);
  expect(stored()).toEqual([]);
  const kept = finished(linked('k.ply'), false);
  await keeper({ retention: { keepRejectedPly: true } }).complete([kept]);
  expect(kept.record.generation.output.ply_file_path).not.toBeNull();
});

test.each([
  ['store_ply_files off', { store_ply_files: false }, 1e12, 'disabled'],
  ['disk below minFreeBytes', { minFreeBytes: 1000 }, 10, 'disk_low'],
] as const)('%s: not kept, the record says why and keeps the hash', async (_what, settings, free, reason) => {
  const f = finished(linked(), true);
  await keeper(settings, free).complete([f]);
  expect(f.record.generation.output.ply_file_path).toBeNull();
  expect(f.record.provenance.blobs_skipped).toEqual([{ kind: 'ply', reason, hash: `sha256:${MONKEY_SHA}` }]);
  expect(stored()).toEqual([]);
});

test('the worker rewrote or removed the file after it was measured: changed / missing, and no partial copy left', async () => {
  const a = finished(linked('a.ply'), true);
  const b = finished(linked('b.ply'), true);
  b.record.metadata.generation_id = '1f8e6c2a-3b1d-5e4f-8a9b-1c2d3e4f5a6b';
  for (const f of [a, b]) {
    const m = await measureLinkedPly(f.ply!);
    expect(m.ok).toBe(true);
    if (m.ok) f.record.generation.output.ply_file_hash = m.summary.ply_file_hash;
    f.ply!.measured = true;
  }
  const bytes = fs.readFileSync(MONKEY);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff; // same size, other content: only the hash tells
  fs.writeFileSync(a.ply!.path, bytes);
  fs.rmSync(b.ply!.path);
  await keeper().complete([a, b]);
  expect(a.record.provenance.blobs_skipped).toEqual([{ kind: 'ply', reason: 'changed', hash: `sha256:${MONKEY_SHA}` }]);
  expect(b.record.provenance.blobs_skipped).toEqual([{ kind: 'ply', reason: 'missing', hash: `sha256:${MONKEY_SHA}` }]);
  expect(a.record.generation.output.ply_file_path).toBeNull();
  expect(stored()).toEqual([]); // no .tmp left either
});
