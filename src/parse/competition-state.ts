/**
 * What a competition state repository says (reference: competition.md), as plain facts: per round,
 * its prompts, seed, the spans its generation stage was open, and — for one miner's hotkey — what
 * the validators downloaded, its duels, its audit, and the round's winner. Both competitions' file
 * shapes are read (competition 0: `generations.json`, `duels.json` with leader/miner; competition 1:
 * `submitted.json`, `duels_leader.json` with left/right); a shape neither fits is "not understood":
 * counted and named, never fatal. Pure: the git reading is in sources/state-repo.ts.
 */
import { z } from 'zod';

/** One stem's entry of `submitted.json` / `generations.json`: what the validator downloaded. */
export interface SubmittedEntry {
  /** URL of the output the validator took (`ply`, `glb` or `js` key), null when it found none. */
  outputUrl: string | null;
  previewUrl: string | null;
  /** Seconds, as the validator measured (0 when nothing came). */
  generationTime: number | null;
  /** Bytes (0 when nothing came). */
  size: number | null;
  attempts: number | null;
  distance: number | null;
}

/** One prompt's duel against an opponent, with the sides already turned to the miner's view. */
export interface DuelFacts {
  stem: string;
  promptUrl: string | null;
  /** `leader` or the opponent's hotkey. */
  opponent: string;
  minerOutputUrl: string | null;
  opponentOutputUrl: string | null;
  winner: 'miner' | 'opponent' | 'draw';
  /** The judge's text. */
  issues: string | null;
}

/** One duel file: the match of the miner against one opponent over the round's prompts. */
export interface MatchFacts {
  /** Path of the file in the repository, e.g. `rounds/1/<hotkey>/duels_leader.json`. */
  file: string;
  opponent: string;
  score: number | null;
  margin: number | null;
  /** Competition 0's `outcome` (`leader_defends`, ...); null in competition 1. */
  outcome: string | null;
  duels: DuelFacts[];
}

export interface AuditFacts {
  /** `passed`, `rejected`, ... as written. */
  outcome: string | null;
  reason: string | null;
  failedPrompts: number | null;
  checkedPrompts: number | null;
}

/** A time span in ms (UTC); `toMs` null: still open at the read commit. */
export interface Span {
  fromMs: number;
  toMs: number | null;
}

export interface RoundFacts {
  round: number;
  /** `prompts.txt`, in file order. */
  prompts: { stem: string; url: string }[];
  /** Commit time of the first commit that had this round's `prompts.txt` (when the prompts were published). */
  promptsSeenMs: number | null;
  seed: number | null;
  /** When `state.json` said this round was in its generation stage (`miner_generation`, competition 0's `generating`). */
  generationStages: Span[];
  /** This round's `submissions.json` has the hotkey. */
  registered: boolean;
  /** For the hotkey: what the validators downloaded, by stem; null while the file is absent. */
  submitted: Record<string, SubmittedEntry> | null;
  submittedSeenMs: number | null;
  /** When the file was last written (downloads retried rewrite it). */
  submittedUpdatedMs: number | null;
  /**
   * For the hotkey: every duel file, when each first appeared, and when it was last written: a file
   * rewritten later says a new verdict (competition 1 re-judged round 1 after a rendering bug: one
   * miner's first verdict was +96, the one in the file now -11).
   */
  matches: (MatchFacts & { seenMs: number | null; updatedMs: number | null })[];
  /** For the hotkey: its audit, when one was written. */
  audit: (AuditFacts & { seenMs: number | null }) | null;
  /** `winner.json`: the round's winner (`leader` or a hotkey); null while absent. */
  winner: { hotkey: string; seenMs: number | null } | null;
}

export interface NotUnderstood {
  file: string;
  reason: string;
}

export interface CompetitionFacts {
  /** `config.json`'s name (`contest`, `mesh`, ...), null when absent. */
  name: string | null;
  /** The commit read (the fetched head). */
  commit: string;
  commitMs: number;
  /** The hotkey the facts are about. */
  hotkey: string;
  rounds: RoundFacts[];
  /** Files found but of a shape neither competition writes (each named once). */
  notUnderstood: NotUnderstood[];
}

// ---------------------------------------------------------------------------------------------
// Reading the files. Every parser takes a file's text and returns its facts or why it could not
// (never throws): zod checks only the keys the facts need; extra keys are welcome (loose objects).


/** A file's facts, or a short reason it was not understood (the first zod issue's path, or the JSON error). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * `state.json` stages during which miners generate for the round: competition 1+ writes
 * `miner_generation`; competition 0 wrote `generating` (the validators ran the miners' images then).
 * Competition 0's `paused` is not one: its validator wrote it when it stopped, after the last output
 * of the stage came in and before an operator restarted the stage (`Manual generation re-try`) or
 * moved on to `duels`, so a pause is a gap between spans, never part of one.
 */
export const GENERATION_STAGES: readonly string[] = ['miner_generation', 'generating'];

export function isGenerationStage(stage: string): boolean {
  return GENERATION_STAGES.includes(stage.toLowerCase());
}

const MAX_REASON = 160;

function shortKey(k: PropertyKey): string {
  const s = String(k);
  return s.length > 16 ? `${s.slice(0, 10)}…` : s;
}

function zodReason(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'unexpected shape';
  const where = issue.path.length ? issue.path.map(shortKey).join('.') : '(top)';
  return `${where}: ${issue.message}`.slice(0, MAX_REASON);
}

function parseWith<S extends z.ZodType, T>(text: string, schema: S, facts: (v: z.output<S>) => T): Parsed<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}`.slice(0, MAX_REASON) };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, value: facts(parsed.data) } : { ok: false, reason: zodReason(parsed.error) };
}

const optString = z.string().nullable().optional();
const optNumber = z.number().nullable().optional();

// --- state.json, config.json, seed.json, submissions.json, winner.json, prompts.txt -----------

const StateSchema = z.looseObject({ current_round: z.number().int(), stage: z.string() });

export interface StateFacts {
  currentRound: number;
  stage: string;
}

export function parseState(text: string): Parsed<StateFacts> {
  return parseWith(text, StateSchema, (s) => ({ currentRound: s.current_round, stage: s.stage }));
}

/** `config.json`'s competition name (`contest`, `mesh`, ...). */
export function parseConfigName(text: string): Parsed<string> {
  return parseWith(text, z.looseObject({ name: z.string() }), (c) => c.name);
}

export function parseSeed(text: string): Parsed<number> {
  return parseWith(text, z.looseObject({ seed: z.number().int() }), (s) => s.seed);
}

/** Whether `submissions.json` (hotkey -> its submission) has the hotkey. */
export function parseRegistered(text: string, hotkey: string): Parsed<boolean> {
  return parseWith(text, z.record(z.string(), z.looseObject({})), (m) => Object.hasOwn(m, hotkey));
}

/** `winner.json`'s `winner_hotkey`: `leader` (the leader defended) or the new leader's hotkey. */
export function parseWinner(text: string): Parsed<string> {
  return parseWith(text, z.looseObject({ winner_hotkey: z.string().min(1) }), (w) => w.winner_hotkey);
}

/** A prompt URL's stem: its file name without the extension (query and fragment dropped). */
export function stemOfUrl(url: string): string {
  const pathPart = url.split(/[?#]/, 1)[0] ?? '';
  const name = pathPart.slice(pathPart.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** `prompts.txt`: one prompt image URL a line, blank lines skipped. Text, so always understood. */
export function parsePrompts(text: string): { stem: string; url: string }[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((url) => ({ stem: stemOfUrl(url), url }));
}

// --- submitted.json (competition 1) / generations.json (competition 0) ------------------------

const OUTPUT_KEYS = ['glb', 'ply', 'js'] as const;

const SubmittedEntrySchema = z
  .looseObject({
    glb: optString,
    ply: optString,
    js: optString,
    png: optString,
    generation_time: optNumber,
    size: optNumber,
    attempts: optNumber,
    distance: optNumber,
  })
  .refine((e) => OUTPUT_KEYS.some((k) => k in e), { message: 'no output key (glb, ply or js)' });

/** Per stem: what the validators downloaded (`submitted.json`) or generated (`generations.json`). */
export function parseSubmitted(text: string): Parsed<Record<string, SubmittedEntry>> {
  return parseWith(text, z.record(z.string(), SubmittedEntrySchema), (m) => {
    const out: Record<string, SubmittedEntry> = {};
    for (const [stem, e] of Object.entries(m)) {
      out[stem] = {
        outputUrl: e.glb ?? e.ply ?? e.js ?? null,
        previewUrl: e.png ?? null,
        generationTime: e.generation_time ?? null,
        size: e.size ?? null,
        attempts: e.attempts ?? null,
        distance: e.distance ?? null,
      };
    }
    return out;
  });
}

// --- duel files ------------------------------------------------------------------------------
//
// Score and margin are turned to the MINER's view (positive: the miner did better). Checked on
// every duel file of both bundles at their last commit:
// - competition 0 `duels.json` (97 files): `hotkey` is always the folder's hotkey, and
//   `score` = (duels the miner won) - (duels the leader won) and `margin` = score / duels in all 97;
//   `outcome` is `challenger_wins` exactly when margin > win_margin (0.05): 5 files, the other 92
//   `leader_defends`. Already the miner's view: kept as written (negated only if the hotkey were
//   ever the `leader` side).
// - competition 1 `duels_*.json` (143 files): the folder's hotkey is always `right`, and
//   `score` = (right wins) - (left wins), `margin` = score / duels in all 143; each file's
//   (left, right, margin) is the row of the round's `matches_matrix.csv`, and round 0's
//   `winner.json` names the challenger with the best positive margin against the leader. So the
//   numbers are the right side's view: kept when the hotkey is right, negated when it is left.

const WINNERS_C0 = ['leader', 'miner', 'draw'] as const;
const WINNERS_C1 = ['left', 'right', 'draw'] as const;

const DuelC0Schema = z.looseObject({
  name: z.string().min(1),
  prompt: optString,
  leader_ply: optString,
  miner_ply: optString,
  leader_glb: optString,
  miner_glb: optString,
  leader_js: optString,
  miner_js: optString,
  winner: z.enum(WINNERS_C0),
  issues: optString,
});

const MatchC0Schema = z.looseObject({
  leader: z.string().min(1),
  hotkey: z.string().min(1),
  score: optNumber,
  margin: optNumber,
  outcome: optString,
  duels: z.array(DuelC0Schema),
});

const DuelC1Schema = z.looseObject({
  name: z.string().min(1),
  prompt: optString,
  left_glb: optString,
  right_glb: optString,
  left_ply: optString,
  right_ply: optString,
  left_js: optString,
  right_js: optString,
  winner: z.enum(WINNERS_C1),
  issues: optString,
});

const MatchC1Schema = z.looseObject({
  left: z.string().min(1),
  right: z.string().min(1),
  score: optNumber,
  margin: optNumber,
  duels: z.array(DuelC1Schema),
});

type Side = 'left' | 'right' | 'leader' | 'miner';

function outputOf(d: Record<string, unknown>, side: Side): string | null {
  for (const k of OUTPUT_KEYS) {
    const v = d[`${side}_${k}`];
    if (typeof v === 'string') return v;
  }
  return null;
}

function negate(n: number | null | undefined): number | null {
  return n === null || n === undefined ? null : n === 0 ? 0 : -n;
}

function matchC0(file: string, m: z.output<typeof MatchC0Schema>, hotkey: string): Parsed<MatchFacts> {
  const minerSide: Side | null = m.hotkey === hotkey ? 'miner' : m.leader === hotkey ? 'leader' : null;
  if (!minerSide) return { ok: false, reason: `neither hotkey nor leader is ${shortKey(hotkey)}` };
  const flip = minerSide === 'leader';
  const opponentSide: Side = flip ? 'miner' : 'leader';
  return {
    ok: true,
    value: {
      file,
      opponent: flip ? m.hotkey : m.leader,
      score: flip ? negate(m.score) : (m.score ?? null),
      margin: flip ? negate(m.margin) : (m.margin ?? null),
      outcome: m.outcome ?? null,
      duels: m.duels.map((d) => ({
        stem: d.name,
        promptUrl: d.prompt ?? null,
        opponent: flip ? m.hotkey : m.leader,
        minerOutputUrl: outputOf(d, minerSide),
        opponentOutputUrl: outputOf(d, opponentSide),
        winner: d.winner === 'draw' ? 'draw' : d.winner === minerSide ? 'miner' : 'opponent',
        issues: d.issues ?? null,
      })),
    },
  };
}

function matchC1(file: string, m: z.output<typeof MatchC1Schema>, hotkey: string): Parsed<MatchFacts> {
  const minerSide: Side | null = m.right === hotkey ? 'right' : m.left === hotkey ? 'left' : null;
  if (!minerSide) return { ok: false, reason: `neither left nor right is ${shortKey(hotkey)}` };
  const flip = minerSide === 'left';
  const opponentSide: Side = flip ? 'right' : 'left';
  const opponent = flip ? m.right : m.left;
  return {
    ok: true,
    value: {
      file,
      opponent,
      score: flip ? negate(m.score) : (m.score ?? null),
      margin: flip ? negate(m.margin) : (m.margin ?? null),
      outcome: null,
      duels: m.duels.map((d) => ({
        stem: d.name,
        promptUrl: d.prompt ?? null,
        opponent,
        minerOutputUrl: outputOf(d, minerSide),
        opponentOutputUrl: outputOf(d, opponentSide),
        winner: d.winner === 'draw' ? 'draw' : d.winner === minerSide ? 'miner' : 'opponent',
        issues: d.issues ?? null,
      })),
    },
  };
}

/**
 * A duel file of the hotkey's folder (`duels.json`, `duels_leader.json`, `duels_<opponent>.json`),
 * in the miner's view. The shape decides which competition wrote it (left/right or leader/hotkey);
 * when neither fits, the reason is the one of the shape its name suggests.
 */
export function parseMatch(file: string, text: string, hotkey: string): Parsed<MatchFacts> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}`.slice(0, MAX_REASON) };
  }
  const c1 = MatchC1Schema.safeParse(json);
  if (c1.success) return matchC1(file, c1.data, hotkey);
  const c0 = MatchC0Schema.safeParse(json);
  if (c0.success) return matchC0(file, c0.data, hotkey);
  const competition0Name = file.endsWith('/duels.json') || file === 'duels.json';
  return { ok: false, reason: zodReason(competition0Name ? c0.error : c1.error) };
}

// --- audits ----------------------------------------------------------------------------------
//
// Three round files speak of audits: `require_audit.json` (who must be audited, with its critical
// prompts), `source_audit.json` (a check of the submitted source: `verdict`, `reason`) and
// `generation_audits.json` (the outputs regenerated from the miner's image: `outcome`,
// `failed_prompts`, `checked_prompts`, `reason`). One AuditFacts is made of them, most decisive first:
// a source audit that did not pass (it rejects whatever the regeneration found); else the generation
// audit; else a passed source audit; else, when only required, an audit with every field null
// (pending). Entries are looked up by the map key / `hotkey` field: in competition 1 round 0 one
// generation_audits entry's inner `hotkey` names another miner (its key is right).

const GenerationAuditsSchema = z.record(
  z.string(),
  z.looseObject({ outcome: z.string(), reason: optString, failed_prompts: optNumber, checked_prompts: optNumber }),
);
const SourceAuditSchema = z.array(z.looseObject({ hotkey: z.string(), verdict: z.string(), reason: optString }));
const RequireAuditSchema = z.array(z.looseObject({ hotkey: z.string() }));

/** The hotkey's generation audit, null when the file has none for it. */
export function parseGenerationAudit(text: string, hotkey: string): Parsed<AuditFacts | null> {
  return parseWith(text, GenerationAuditsSchema, (m) => {
    const a = Object.hasOwn(m, hotkey) ? m[hotkey] : undefined;
    if (!a) return null;
    return { outcome: a.outcome, reason: a.reason || null, failedPrompts: a.failed_prompts ?? null, checkedPrompts: a.checked_prompts ?? null };
  });
}

/** The hotkey's source audit (`verdict` as the outcome), null when the file has none for it. */
export function parseSourceAudit(text: string, hotkey: string): Parsed<AuditFacts | null> {
  return parseWith(text, SourceAuditSchema, (list) => {
    const a = list.find((e) => e.hotkey === hotkey);
    return a ? { outcome: a.verdict, reason: a.reason || null, failedPrompts: null, checkedPrompts: null } : null;
  });
}

/** Whether `require_audit.json` lists the hotkey. */
export function parseRequireAudit(text: string, hotkey: string): Parsed<boolean> {
  return parseWith(text, RequireAuditSchema, (list) => list.some((e) => e.hotkey === hotkey));
}

export function combineAudit(generation: AuditFacts | null, source: AuditFacts | null, required: boolean): AuditFacts | null {
  if (source && source.outcome !== 'passed') return source;
  if (generation) return generation;
  if (source) return source;
  return required ? { outcome: null, reason: null, failedPrompts: null, checkedPrompts: null } : null;
}

// --- the repository as a whole ---------------------------------------------------------------

/** One version of a file in the history: its text, or null where a commit deleted it. */
export interface FileVersion {
  /** Position of the commit in first-parent order, oldest 0: orders versions of different files. */
  order: number;
  timeMs: number;
  text: string | null;
}

/** What sources/state-repo.ts reads from git for one hotkey at one commit; all buildCompetitionFacts needs. */
export interface StateRepoSnapshot {
  commit: string;
  commitMs: number;
  hotkey: string;
  /** Every path at the commit. */
  paths: string[];
  /** The files `neededFiles` named, with their text at the commit. */
  texts: Map<string, string>;
  /** Per path at the commit: when its current life began (the commit that last added it). */
  seenMs: Map<string, number>;
  /** Per path at the commit: the commit that last wrote it (added or changed). */
  updatedMs: Map<string, number>;
  /** Every version, oldest first, of the files `isHistoryFile` names. */
  history: Map<string, FileVersion[]>;
}

const ROUND_FILE = /^rounds\/(\d+)\/([^/]+)$/;
const HOTKEY_FILE = /^rounds\/(\d+)\/([^/]+)\/([^/]+)$/;
const DUEL_FILE = /^duels(_[^/]+)?\.json$/;
const SUBMITTED_FILES = ['submitted.json', 'generations.json'];
const ROUND_FILES = ['prompts.txt', 'seed.json', 'submissions.json', 'winner.json'];
const AUDIT_FILES = ['generation_audits.json', 'source_audit.json', 'require_audit.json'];

/** The files whose text the facts need: the repo-wide, round-wide and the hotkey's own. */
export function neededFiles(paths: readonly string[], hotkey: string): string[] {
  return paths.filter((p) => {
    if (p === 'config.json' || p === 'state.json') return true;
    const r = ROUND_FILE.exec(p);
    if (r) return ROUND_FILES.includes(r[2]!) || AUDIT_FILES.includes(r[2]!);
    const h = HOTKEY_FILE.exec(p);
    return !!h && h[2] === hotkey && (SUBMITTED_FILES.includes(h[3]!) || DUEL_FILE.test(h[3]!));
  });
}

/**
 * Files whose every version is read: `state.json` (the stage spans) and the rounds' audit files,
 * which every audited miner shares, so the file's age says nothing of when the hotkey's entry came.
 */
export function isHistoryFile(path: string): boolean {
  if (path === 'state.json') return true;
  const r = ROUND_FILE.exec(path);
  return !!r && AUDIT_FILES.includes(r[2]!);
}

/**
 * Per round, the spans `state.json` said it was in a generation stage, from the commit that said so
 * to the commit that said otherwise (null: still open at the last version). Consecutive generation
 * versions of one round are one span. A state that goes back to an earlier round (competition 0 went
 * to round 5 and back to 0, and to -1 before each restart of its tests) voids what was recorded of the
 * later rounds: those rounds were run again, and their old spans belong to prompts since deleted.
 * Versions of an unknown shape (competition 0's first `{round, ...}` ones) are skipped.
 */
export function generationStageSpans(versions: readonly FileVersion[]): Map<number, Span[]> {
  const spans = new Map<number, Span[]>();
  let open: { round: number; fromMs: number } | null = null;
  let lastRound: number | null = null;
  const close = (atMs: number) => {
    if (!open) return;
    if (open.round >= 0) {
      const list = spans.get(open.round) ?? [];
      list.push({ fromMs: open.fromMs, toMs: atMs });
      spans.set(open.round, list);
    }
    open = null;
  };
  for (const v of versions) {
    if (v.text === null) {
      close(v.timeMs);
      continue;
    }
    const st = parseState(v.text);
    if (!st.ok) continue;
    const { currentRound, stage } = st.value;
    const generating = isGenerationStage(stage);
    if (open && (open.round !== currentRound || !generating)) close(v.timeMs);
    if (lastRound !== null && currentRound < lastRound) {
      for (const r of [...spans.keys()]) if (r > currentRound) spans.delete(r);
    }
    lastRound = currentRound;
    if (generating && !open) open = { round: currentRound, fromMs: v.timeMs };
  }
  const last = open as { round: number; fromMs: number } | null;
  if (last && last.round >= 0) {
    const list = spans.get(last.round) ?? [];
    list.push({ fromMs: last.fromMs, toMs: null });
    spans.set(last.round, list);
  }
  return spans;
}

/**
 * The hotkey's audit for a round and since when it has said what it says now: the three audit
 * files' versions are replayed in commit order, and `seenMs` is the commit from which the combined
 * audit has been what it is at the read commit. Only the last version's shape problems are reported.
 */
function roundAudit(
  round: number,
  snap: StateRepoSnapshot,
  notUnderstood: NotUnderstood[],
): (AuditFacts & { seenMs: number | null }) | null {
  const paths = AUDIT_FILES.map((f) => `rounds/${round}/${f}`);
  const readers = [
    (t: string) => parseGenerationAudit(t, snap.hotkey),
    (t: string) => parseSourceAudit(t, snap.hotkey),
    (t: string) => parseRequireAudit(t, snap.hotkey),
  ] as const;
  type Known = [AuditFacts | null, AuditFacts | null, boolean];
  const combined = (k: Known) => combineAudit(k[0], k[1], k[2]);
  const events = paths.flatMap((p, i) => (snap.history.get(p) ?? []).map((v) => ({ v, i })));
  events.sort((a, b) => a.v.order - b.v.order);
  const known: Known = [null, null, false];
  let since: number | null = null;
  let current = combined(known);
  for (const { v, i } of events) {
    if (v.text === null) {
      if (i === 2) known[2] = false;
      else known[i] = null;
    } else {
      const reader = readers[i]!;
      const r = reader(v.text);
      if (!r.ok) continue;
      known[i] = r.value;
    }
    const next = combined(known);
    if (JSON.stringify(next) !== JSON.stringify(current)) {
      current = next;
      since = v.timeMs;
    }
  }
  // The texts at the read commit decide; the history only dates them.
  const at: Known = [null, null, false];
  paths.forEach((p, i) => {
    const text = snap.texts.get(p);
    if (text === undefined) return;
    const r = readers[i]!(text);
    if (!r.ok) notUnderstood.push({ file: p, reason: r.reason });
    else at[i] = r.value;
  });
  const audit = combined(at);
  if (!audit) return null;
  return { ...audit, seenMs: JSON.stringify(audit) === JSON.stringify(current) ? since : null };
}

function duelFileRank(name: string): number {
  return name === 'duels.json' ? 0 : name === 'duels_leader.json' ? 1 : 2;
}

/** The facts of a snapshot (pure): every round the tree or the stage history knows, for the hotkey. */
export function buildCompetitionFacts(snap: StateRepoSnapshot): CompetitionFacts {
  const notUnderstood: NotUnderstood[] = [];
  const read = <T>(path: string, parse: (text: string) => Parsed<T>): T | null => {
    const text = snap.texts.get(path);
    if (text === undefined) return null;
    const r = parse(text);
    if (r.ok) return r.value;
    notUnderstood.push({ file: path, reason: r.reason });
    return null;
  };
  const seen = (path: string) => snap.seenMs.get(path) ?? null;
  const updated = (path: string) => snap.updatedMs.get(path) ?? null;

  const name = read('config.json', parseConfigName);
  read('state.json', parseState);
  const spans = generationStageSpans(snap.history.get('state.json') ?? []);

  const roundNumbers = new Set<number>(spans.keys());
  const hotkeyFiles = new Map<number, string[]>();
  for (const p of snap.paths) {
    const m = /^rounds\/(\d+)\//.exec(p);
    if (!m) continue;
    const round = Number(m[1]);
    roundNumbers.add(round);
    const h = HOTKEY_FILE.exec(p);
    if (h && h[2] === snap.hotkey) hotkeyFiles.set(round, [...(hotkeyFiles.get(round) ?? []), h[3]!]);
  }

  const rounds: RoundFacts[] = [...roundNumbers]
    .sort((a, b) => a - b)
    .map((round) => {
      const dir = `rounds/${round}`;
      const own = hotkeyFiles.get(round) ?? [];
      const promptsText = snap.texts.get(`${dir}/prompts.txt`);
      const submittedName = SUBMITTED_FILES.find((f) => own.includes(f));
      const submittedPath = submittedName ? `${dir}/${snap.hotkey}/${submittedName}` : null;
      const matches = own
        .filter((f) => DUEL_FILE.test(f))
        .sort((a, b) => duelFileRank(a) - duelFileRank(b) || a.localeCompare(b))
        .map((f) => `${dir}/${snap.hotkey}/${f}`)
        .flatMap((p) => {
          const m = read(p, (t) => parseMatch(p, t, snap.hotkey));
          return m ? [{ ...m, seenMs: seen(p), updatedMs: updated(p) }] : [];
        });
      const winner = read(`${dir}/winner.json`, parseWinner);
      return {
        round,
        prompts: promptsText === undefined ? [] : parsePrompts(promptsText),
        promptsSeenMs: seen(`${dir}/prompts.txt`),
        seed: read(`${dir}/seed.json`, parseSeed),
        generationStages: spans.get(round) ?? [],
        registered: read(`${dir}/submissions.json`, (t) => parseRegistered(t, snap.hotkey)) ?? false,
        submitted: submittedPath ? read(submittedPath, parseSubmitted) : null,
        submittedSeenMs: submittedPath ? seen(submittedPath) : null,
        submittedUpdatedMs: submittedPath ? updated(submittedPath) : null,
        matches,
        audit: roundAudit(round, snap, notUnderstood),
        winner: winner === null ? null : { hotkey: winner, seenMs: seen(`${dir}/winner.json`) },
      };
    });

  const named = new Set<string>();
  return {
    name,
    commit: snap.commit,
    commitMs: snap.commitMs,
    hotkey: snap.hotkey,
    rounds,
    notUnderstood: notUnderstood.filter((n) => !named.has(n.file) && named.add(n.file)),
  };
}

/**
 * Which round a generation of `stem` made at `timeMs` was for. Candidates: the rounds whose prompts
 * hold the stem (a carry-over prompt is in several). The one whose generation stage was open at
 * `timeMs` wins; else the latest whose prompts were published at or before `timeMs`; else null.
 */
export function roundOfGeneration(
  facts: CompetitionFacts,
  stem: string,
  timeMs: number,
): { round: number; by: 'generation_stage' | 'published_before'; candidates: number[] } | null {
  const holding = facts.rounds.filter((r) => r.prompts.some((p) => p.stem === stem)).sort((a, b) => a.round - b.round);
  const candidates = holding.map((r) => r.round);
  const inStage = holding.filter((r) => r.generationStages.some((s) => s.fromMs <= timeMs && (s.toMs === null || timeMs < s.toMs)));
  const staged = inStage[inStage.length - 1];
  if (staged) return { round: staged.round, by: 'generation_stage', candidates };
  const published = holding.filter((r) => r.promptsSeenMs !== null && r.promptsSeenMs <= timeMs);
  const latest = published[published.length - 1];
  return latest ? { round: latest.round, by: 'published_before', candidates } : null;
}
