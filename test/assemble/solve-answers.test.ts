/**
 * The search's answers pinned on windows from real runs: the arguments of the `solve`s an ingest made
 * (the synthetic 3- and 8-endpoint logs of bench/synthetic-concurrent-log.ts, the first 800 of the
 * 4-endpoint one, and the kept PM2 runs of bench/attribution.ts, seed 5200, with and without worker
 * logs), each with the answer the search gave when it was captured (session 22's build). Left out: the
 * solves that took over 10 ms, but for two the node budget cut short (a window of 20 tasks and 30
 * events took half a second). Work that makes the search cheaper must give every answer again; a
 * change meant to change answers rewrites them (`UPDATE_SOLVE_ANSWERS=1`, the arguments kept) and
 * says why in its commit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { solve, type Attribution } from '../../src/assemble/tracker/attribution';

type Args = Parameters<typeof solve>;
type Answer = [number, boolean, [string, unknown][], [string, unknown][]];

const DIR = path.join(__dirname, '../fixtures/attribution/solves');
const plain = (r: Attribution): Answer => JSON.parse(JSON.stringify([r.leaves, r.truncated, [...r.items], [...r.ended]])) as Answer;

describe.each(fs.readdirSync(DIR).filter((f) => f.endsWith('.json.gz')))('%s', (file) => {
  const p = path.join(DIR, file);
  const captured = JSON.parse(zlib.gunzipSync(fs.readFileSync(p)).toString('utf8')) as { solves: { args: Args; answer: Answer }[] };

  it('every captured window gets the answer it got when captured', () => {
    const got = captured.solves.map((s) => plain(solve(...s.args)));
    if (process.env.UPDATE_SOLVE_ANSWERS === '1') {
      captured.solves.forEach((s, i) => (s.answer = got[i]!));
      fs.writeFileSync(p, zlib.gzipSync(JSON.stringify(captured), { level: 9 }));
    }
    const differing = captured.solves.flatMap((s, i) => (JSON.stringify(got[i]) === JSON.stringify(s.answer) ? [] : [i]));
    // the first that differs in full: which item or task moved
    if (differing.length) expect({ solve: differing[0], of: differing.length, answer: got[differing[0]!] }).toEqual({ solve: differing[0], of: differing.length, answer: captured.solves[differing[0]!]!.answer });
    expect(captured.solves.length).toBeGreaterThan(200);
  });
});
