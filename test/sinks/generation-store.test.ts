import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openGenerationStore } from '../../src/sinks';
import { emptyRecord, parseRecordLine, type GenerationRecord } from '../../src/schema';

function record(id: string, revision = 0): GenerationRecord {
  const r = emptyRecord({
    generation_id: id,
    timestamp: '2025-11-12T21:30:45.123Z',
    host: 'miner-1',
    miner_app: 'miner-sn17-mainnet',
    collector_version: '0.1.0',
  });
  r.provenance.revision = revision;
  return r;
}

describe('generation store', () => {
  const id1 = '1b4e28ba-2fa1-51d2-883f-0016d3cca427';
  const id2 = '6ba7b810-9dad-51d1-80b4-00c04fd430c8';

  it('writes valid records in schema order; a more complete version becomes the next revision, a replay nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-gen-'));
    const store = await openGenerationStore({ dataDir: dir });
    const interrupted = record(id1); // emptyRecord: outcome interrupted
    const complete = record(id1);
    complete.outcome = 'accepted';
    expect(await store.append([interrupted, record(id2)])).toMatchObject({ written: 2 });
    expect(await store.append([interrupted, complete])).toMatchObject({ written: 1, duplicates: 1 });
    // a second process replaying the same records writes nothing
    const again = await openGenerationStore({ dataDir: dir });
    expect(await again.append([complete, interrupted, record(id2)])).toMatchObject({ written: 0, duplicates: 3 });
    expect(again.latest(id1)).toEqual({ revision: 1, tag: '3' });
    const lines = fs.readFileSync(store.file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const revs = lines.map((l) => (JSON.parse(l) as GenerationRecord).provenance.revision);
    expect(revs).toEqual([0, 0, 1]);
    for (const l of lines) {
      expect(parseRecordLine(l).ok).toBe(true);
      expect(l.startsWith('{"metadata":{"generation_id":')).toBe(true);
    }
  });

  it('keeps in supersedes only the ids that were written', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-gen-'));
    const store = await openGenerationStore({ dataDir: dir });
    await store.append([record(id2)]);
    const r = record(id1);
    r.provenance.supersedes = [id2, '0b6f4d2e-9a51-5c7e-8f3d-5e2a1c9b7d41'];
    await store.append([r]);
    const last = JSON.parse(fs.readFileSync(store.file, 'utf8').trimEnd().split('\n')[1]!) as GenerationRecord;
    expect(last.provenance.supersedes).toEqual([id2]);
  });

  it('reports an invalid record with the zod message, writes the valid ones of the batch', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-gen-'));
    const store = await openGenerationStore({ dataDir: dir });
    const bad = record(id1) as unknown as { metadata: { validator_uid: unknown } };
    bad.metadata.validator_uid = 'fifty-seven';
    const r = await store.append([bad as unknown as GenerationRecord, record(id2)]);
    expect(r.written).toBe(1);
    expect(r.invalid).toHaveLength(1);
    expect(r.invalid[0]!.error).toMatch(/metadata\.validator_uid: Invalid input: expected number, received string/);
    const lines = fs.readFileSync(store.file, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as GenerationRecord).metadata.generation_id)).toEqual([id2]);
  });
});

describe('id index caches are never trusted alone', () => {
  const id1 = '1b4e28ba-2fa1-51d2-883f-0016d3cca427';
  const id2 = '6ba7b810-9dad-51d1-80b4-00c04fd430c8';
  const warnings: string[] = [];
  const logger = { info: () => {}, debug: () => {}, error: () => {}, warn: (_o: object, msg: string) => void warnings.push(msg) };
  const cacheOf = (dir: string) => path.join(dir, 'state', 'index', fs.readdirSync(path.join(dir, 'state', 'index')).find((n) => n.endsWith('.idx'))!);

  beforeEach(() => (warnings.length = 0));

  it('a forged key for a new id does not make its first record a duplicate', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-gen-'));
    await (await openGenerationStore({ dataDir: dir })).append([record(id2)]);
    // the cache now says id1 is stored, at id2's line
    fs.writeFileSync(cacheOf(dir), fs.readFileSync(cacheOf(dir), 'utf8').replace(id2, id1));
    const store = await openGenerationStore({ dataDir: dir, logger });
    expect(await store.append([record(id1)])).toMatchObject({ written: 1, duplicates: 0 });
    const lines = fs.readFileSync(store.file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as GenerationRecord);
    expect(lines.map((r) => [r.metadata.generation_id, r.provenance.revision])).toEqual([
      [id2, 0],
      [id1, 0],
    ]);
    expect(warnings).toEqual(['the id index cache did not match the data files: it is rebuilt from them']);
    // rebuilt: id2 is still known, and a replay of it is a duplicate
    expect(await store.append([record(id2)])).toMatchObject({ written: 0, duplicates: 1 });
  });

  it('a forged revision or completeness does not hold back a better revision, nor number it wrong', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-gen-'));
    await (await openGenerationStore({ dataDir: dir })).append([record(id1)]);
    // the cache claims revision 7 and the most complete tag
    fs.writeFileSync(cacheOf(dir), fs.readFileSync(cacheOf(dir), 'utf8').replace(new RegExp(`${id1}#0#\\d+`), `${id1}#7#9`));
    const store = await openGenerationStore({ dataDir: dir, logger });
    const better = record(id1);
    better.outcome = 'accepted';
    expect(await store.append([better])).toMatchObject({ written: 1 });
    const revs = fs.readFileSync(store.file, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as GenerationRecord).provenance.revision);
    expect(revs).toEqual([0, 1]);
    expect(warnings).toHaveLength(1);
  });

  it('an honest cache is confirmed by reading the line once, and not rebuilt', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-gen-'));
    await (await openGenerationStore({ dataDir: dir })).append([record(id1), record(id2)]);
    const store = await openGenerationStore({ dataDir: dir, logger });
    expect(await store.append([record(id1), record(id2)])).toMatchObject({ written: 0, duplicates: 2 });
    expect(warnings).toEqual([]);
  });
});
