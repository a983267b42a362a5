/** The filters analyze and export share, applied to the rows that count (latest revisions only). */
import { OUTCOMES, TASK_TYPES } from '../schema/constants';
import type { Outcome, TaskType } from '../schema';
import { F_AMBIGUOUS, F_INFERRED, F_SPEC } from './columns';
import type { Dataset } from './dataset';

export interface Filter {
  taskType?: TaskType;
  /** metadata.timestamp >= sinceMs (from --since and --last-days: the later of the two). */
  sinceMs?: number;
  /** metadata.timestamp < untilMs. */
  untilMs?: number;
  validator?: number;
  minScore?: number;
  minClip?: number;
  acceptedOnly?: boolean;
  /** Only records the logs tied every event of to its task: no `inferred` link, no ambiguous reason, not the spec's schema (no provenance). */
  noInferred?: boolean;
  hosts?: string[];
  outcomes?: Outcome[];
  /** Competition mode: competition.round in these. */
  rounds?: number[];
  /** Competition mode: competition.name in these. */
  competitions?: string[];
}

/** A flag value that makes no sense; the CLI turns it into a usage error (exit 2). */
export class FilterError extends Error {}

export const DAY_MS = 86_400_000;

/** The flags, as node:util parseArgs options (spread into each command's own). */
export const FILTER_FLAGS = {
  'data-dir': { type: 'string', multiple: true },
  'task-type': { type: 'string' },
  'last-days': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  validator: { type: 'string' },
  'min-score': { type: 'string' },
  'min-clip': { type: 'string' },
  'accepted-only': { type: 'boolean' },
  'no-inferred': { type: 'boolean' },
  host: { type: 'string', multiple: true },
  outcome: { type: 'string', multiple: true },
  round: { type: 'string', multiple: true },
  competition: { type: 'string', multiple: true },
} as const;

export const FILTER_HELP = `Selection (analyze and export):
  --data-dir DIR       a data dir (repeatable: a fleet's synced dirs are read together; default ./data)
  --task-type T        TEXT-TO-3D or IMAGE-TO-3D
  --last-days N        records received in the last N days (N x 24 h before now)
  --since T, --until T records with since <= metadata.timestamp < until (ISO date or date-time, UTC)
  --validator UID      records scored by that validator
  --min-score S        validator_feedback.score >= S (records without a score are left out)
  --min-clip C         quality_metrics.clip_score >= C (records without one are left out)
  --accepted-only      outcome accepted
  --no-inferred        leave out records an event was linked to by best fit (an "inferred" link, or a
                       "*_ambiguous" incomplete reason) and records in the spec's schema (no provenance):
                       every event of those kept was tied to its generation by the logs (data/README.md)
  --host NAME          metadata.host (repeatable)
  --outcome O          outcome (repeatable): ${OUTCOMES.join(', ')}
  --round N            competition mode: generations made for round N (repeatable)
  --competition NAME   competition mode: of that competition, as its config.json names it (repeatable; e.g. mesh)
`;

function number(flag: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new FilterError(`--${flag}: expected a ${integer ? 'whole ' : ''}number, got '${v}'`);
  return n;
}

function time(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  // A date alone is midnight UTC; a date-time without a zone is UTC too (records are UTC).
  const text = /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(v) ? v : `${v}Z`;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new FilterError(`--${flag}: expected an ISO date or date-time, got '${v}'`);
  return ms;
}

type FilterValues = { [K in keyof typeof FILTER_FLAGS]?: (typeof FILTER_FLAGS)[K]['type'] extends 'boolean' ? boolean : (typeof FILTER_FLAGS)[K] extends { multiple: true } ? string[] : string };

/** Builds the filter from parsed flags; `nowMs` is injected so --last-days is testable. */
export function filterFromFlags(v: FilterValues, nowMs: number): Filter {
  const f: Filter = {};
  if (v['task-type'] !== undefined) {
    const t = v['task-type'].toUpperCase();
    if (!(TASK_TYPES as readonly string[]).includes(t)) throw new FilterError(`--task-type: expected ${TASK_TYPES.join(' or ')}, got '${v['task-type']}'`);
    f.taskType = t as TaskType;
  }
  const lastDays = number('last-days', v['last-days']);
  if (lastDays !== undefined && lastDays <= 0) throw new FilterError('--last-days: expected a number > 0');
  const since = time('since', v.since);
  const fromDays = lastDays === undefined ? undefined : nowMs - lastDays * DAY_MS;
  if (since !== undefined || fromDays !== undefined) f.sinceMs = Math.max(since ?? -Infinity, fromDays ?? -Infinity);
  f.untilMs = time('until', v.until);
  if (f.untilMs === undefined) delete f.untilMs;
  if (v.validator !== undefined && v.validator !== 'all') f.validator = number('validator', v.validator, true);
  f.minScore = number('min-score', v['min-score']);
  f.minClip = number('min-clip', v['min-clip']);
  if (v['accepted-only']) f.acceptedOnly = true;
  if (v['no-inferred']) f.noInferred = true;
  if (v.host?.length) f.hosts = v.host;
  if (v.outcome?.length) {
    for (const o of v.outcome) if (!(OUTCOMES as readonly string[]).includes(o)) throw new FilterError(`--outcome: expected one of ${OUTCOMES.join(', ')}, got '${o}'`);
    f.outcomes = v.outcome as Outcome[];
  }
  if (v.round?.length) f.rounds = v.round.map((r) => {
    const n = number('round', r, true)!;
    if (n < 0) throw new FilterError(`--round: expected a round number >= 0, got '${r}'`);
    return n;
  });
  if (v.competition?.length) f.competitions = v.competition;
  for (const k of Object.keys(f) as (keyof Filter)[]) if (f[k] === undefined) delete f[k];
  return f;
}

/** 1 for each row that counts and passes the filter. */
export function select(ds: Dataset, f: Filter): Uint8Array {
  const sel = new Uint8Array(ds.n);
  const task = f.taskType ? TASK_TYPES.indexOf(f.taskType) + 1 : -1;
  const outcomes = f.outcomes ? new Set(f.outcomes.map((o) => OUTCOMES.indexOf(o))) : null;
  const accepted = OUTCOMES.indexOf('accepted');
  const since = f.sinceMs ?? -Infinity;
  const until = f.untilMs ?? Infinity;
  const uncertain = f.noInferred ? F_INFERRED | F_AMBIGUOUS | F_SPEC : 0;
  ds.chunks.forEach((c, k) => {
    const hostOk = c.hosts.map((h) => !f.hosts || f.hosts.includes(h));
    // index 0: no competition section (a pull/submit record), never selected by --competition
    const compOk = [false, ...c.competitions.map((name) => !f.competitions || f.competitions.includes(name))];
    const off = ds.offsets[k]!;
    for (let i = 0; i < c.n; i++) {
      if (!ds.keep[off + i]) continue;
      const ts = c.ts[i]!;
      if (ts < since || ts >= until) continue;
      if (task !== -1 && c.task[i] !== task) continue;
      if (f.validator !== undefined && c.validator[i] !== f.validator) continue;
      // NaN (no value) fails every comparison, so such records are left out
      if (f.minScore !== undefined && !(c.score[i]! >= f.minScore)) continue;
      if (f.minClip !== undefined && !(c.clip[i]! >= f.minClip)) continue;
      if (f.acceptedOnly && c.outcome[i] !== accepted) continue;
      if (c.flags[i]! & uncertain) continue;
      if (outcomes && !outcomes.has(c.outcome[i]!)) continue;
      if (!hostOk[c.host[i]!]) continue;
      if (f.rounds && !f.rounds.includes(c.round[i]!)) continue;
      if (f.competitions && !compOk[c.comp[i]!]) continue;
      sel[off + i] = 1;
    }
  });
  return sel;
}
