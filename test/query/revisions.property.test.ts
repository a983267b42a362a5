/**
 * Which rows count, against a plain model: random ids (few, so they repeat), revisions, copies and
 * supersedes, cut into units anywhere. The latest revision of each id counts, the first line of it when
 * copied, unless some line supersedes the id.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { loadDataset } from '../../src/query';
import { record, ROWS, uuid } from './fixture';
import { serializeRecord } from '../../src/schema/serialize';

interface Line {
  id: number;
  rev: number;
  supersedes: number[];
}

function modelKept(lines: Line[]): { kept: Set<number>; older: number; duplicates: number; superseded: number } {
  const best = new Map<number, number>(); // id -> line index
  let older = 0;
  let duplicates = 0;
  lines.forEach((l, i) => {
    const b = best.get(l.id);
    if (b === undefined) best.set(l.id, i);
    else if (l.rev > lines[b]!.rev) {
      best.set(l.id, i);
      older++;
    } else if (l.rev === lines[b]!.rev) duplicates++;
    else older++;
  });
  const gone = new Set(lines.flatMap((l) => l.supersedes));
  const kept = new Set([...best.entries()].filter(([id]) => !gone.has(id)).map(([, i]) => i));
  return { kept, older, duplicates, superseded: [...best.keys()].filter((id) => gone.has(id)).length };
}

test('the latest revision of each id counts, as the model says, however the file is cut', async () => {
  const line = fc.record({ id: fc.integer({ min: 1, max: 30 }), rev: fc.integer({ min: 0, max: 3 }), supersedes: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 1 }) });
  // rows per resolving pass: the default (one pass), or few (many passes, their tables growing when a part holds more ids than most)
  const rowsPerPass = fc.option(fc.integer({ min: 1, max: 12 }), { freq: 3 }).map((r) => r ?? undefined);
  await fc.assert(
    fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 60 }), fc.integer({ min: 200, max: 20_000 }), rowsPerPass, async (lines, chunkBytes, rowsPerPass) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-revisions-'));
      try {
        const text = lines.map((l, i) => {
          const r = record({ ...ROWS[0]!, id: l.id, rev: l.rev });
          r.provenance.supersedes = l.supersedes.map(uuid);
          r.metadata.validator_uid = i; // the line's index, to find it among the rows kept
          return serializeRecord(r);
        });
        fs.writeFileSync(path.join(dir, 'generation_history.jsonl'), text.join('\n') + '\n');
        const ds = await loadDataset({ dataDirs: [dir], threads: 0, chunkBytes, rowsPerPass });
        const kept = new Set<number>();
        ds.chunks.forEach((c, k) => {
          for (let i = 0; i < c.n; i++) if (ds.keep[ds.offsets[k]! + i]) kept.add(c.validator[i]!);
        });
        const m = modelKept(lines);
        expect([...kept].sort((a, b) => a - b)).toEqual([...m.kept].sort((a, b) => a - b));
        expect(ds.stats).toMatchObject({ olderRevisions: m.older, duplicates: m.duplicates, superseded: m.superseded, kept: m.kept.size });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 200 },
  );
});
