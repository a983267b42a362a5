/**
 * Competition mode's figures (`analyze --duels`): per round, how many generations were made, judged,
 * won, drawn and lost; the win rate over time; and what the judges said of the prompts lost. Win
 * rate = won / judged (a duel's verdict: a draw is not a win, as the competition counts it).
 */
import { OUTCOMES } from '../schema/constants';
import type { Dataset } from './dataset';
import { dayOf } from './analysis';
import { DAY_MS } from './filter';

export interface DuelCounts {
  generations: number;
  judged: number;
  won: number;
  draw: number;
  lost: number;
  /** won / judged; null when nothing was judged. */
  win_rate: number | null;
  /** The validators found no output for the prompt (outcome submit_failed). */
  not_downloaded: number;
  /** The generation failed at the service (outcome generation_failed). */
  generation_failed: number;
}

export interface RoundRow extends DuelCounts {
  competition: string;
  round: number | null;
  first_generation: string;
  last_generation: string;
}

export interface CompetitionAnalysis extends DuelCounts {
  by_round: RoundRow[];
  by_day: (DuelCounts & { day: string })[];
  /** The judges' texts of lost duels, prompt ids taken out, most common first (at most 15). */
  lost_issues: { issues: string; count: number; share: number }[];
}

const WON = 0;
const LOST = 1;
const DRAW = 2;
const SUBMIT_FAILED = OUTCOMES.indexOf('submit_failed');
const GENERATION_FAILED = OUTCOMES.indexOf('generation_failed');

class DuelCounter {
  generations = 0;
  won = 0;
  draw = 0;
  lost = 0;
  notDownloaded = 0;
  failed = 0;
  first = Infinity;
  last = -Infinity;
  add(duel: number, outcome: number, ts: number): void {
    this.generations++;
    if (duel === WON) this.won++;
    else if (duel === DRAW) this.draw++;
    else if (duel === LOST) this.lost++;
    if (outcome === SUBMIT_FAILED) this.notDownloaded++;
    if (outcome === GENERATION_FAILED) this.failed++;
    this.first = Math.min(this.first, ts);
    this.last = Math.max(this.last, ts);
  }
  counts(): DuelCounts {
    const judged = this.won + this.draw + this.lost;
    return {
      generations: this.generations,
      judged,
      won: this.won,
      draw: this.draw,
      lost: this.lost,
      win_rate: judged ? this.won / judged : null,
      not_downloaded: this.notDownloaded,
      generation_failed: this.failed,
    };
  }
}

/** Null when no selected record is a competition generation. */
export function analyzeCompetition(ds: Dataset, sel: Uint8Array): CompetitionAnalysis | null {
  const all = new DuelCounter();
  const byRound = new Map<string, { competition: string; round: number; c: DuelCounter }>();
  const byDay = new Map<number, DuelCounter>();
  const issues = new Map<string, number>();
  let lostWithIssues = 0;
  ds.chunks.forEach((c, k) => {
    const off = ds.offsets[k]!;
    for (let i = 0; i < c.n; i++) {
      if (!sel[off + i] || c.comp[i] === 0) continue;
      const duel = c.duel[i]!;
      const o = c.outcome[i]!;
      const ts = c.ts[i]!;
      all.add(duel, o, ts);
      const name = c.competitions[c.comp[i]! - 1]!;
      const key = `${name}\0${c.round[i]}`;
      let r = byRound.get(key);
      if (!r) byRound.set(key, (r = { competition: name, round: c.round[i]!, c: new DuelCounter() }));
      r.c.add(duel, o, ts);
      const d = Math.floor(ts / DAY_MS);
      let dc = byDay.get(d);
      if (!dc) byDay.set(d, (dc = new DuelCounter()));
      dc.add(duel, o, ts);
      if (duel === LOST && c.issue[i]! >= 0) {
        lostWithIssues++;
        const text = c.issues[c.issue[i]!]!;
        issues.set(text, (issues.get(text) ?? 0) + 1);
      }
    }
  });
  if (all.generations === 0) return null;
  return {
    ...all.counts(),
    by_round: [...byRound.values()]
      .sort((a, b) => a.c.first - b.c.first || a.round - b.round)
      .map((r) => ({
        competition: r.competition,
        round: r.round < 0 ? null : r.round,
        ...r.c.counts(),
        first_generation: new Date(r.c.first).toISOString(),
        last_generation: new Date(r.c.last).toISOString(),
      })),
    by_day: [...byDay.entries()].sort((a, b) => a[0] - b[0]).map(([d, c]) => ({ day: dayOf(d * DAY_MS), ...c.counts() })),
    lost_issues: [...issues.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 15)
      .map(([text, count]) => ({ issues: text, count, share: count / lostWithIssues })),
  };
}
