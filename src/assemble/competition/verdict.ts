/**
 * A competition generation's verdict: what the state repository says of its prompt (round, download,
 * duel, match, audit, round winner), written into the record's `competition` section and mapped onto
 * the spec's fields (data/README.md, "Competition mode"). One function decides `outcome`,
 * `failure_analysis` and `validator_feedback.accepted`, as settle.ts does for pull/submit records.
 */
import { isoUtc } from '../../parse';
import { roundOfGeneration, type CompetitionFacts, type RoundFacts } from '../../parse/competition-state';
import type { Competition, GenerationRecord } from '../../schema';

/** A duel's result as a score: the spec's `score` (won 1, draw 0.5, lost 0). */
const DUEL_SCORE = { miner: 1, draw: 0.5, opponent: 0 } as const;

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : isoUtc(ms));

/** The match the spec's fields come from: the one against the leader, else the first written. */
function mainMatch(round: RoundFacts, stem: string): RoundFacts['matches'][number] | null {
  const withStem = round.matches.filter((m) => m.duels.some((d) => d.stem === stem));
  return withStem.find((m) => m.opponent === 'leader') ?? withStem[0] ?? round.matches.find((m) => m.opponent === 'leader') ?? round.matches[0] ?? null;
}

/** The round whose generation stage was open at `timeMs` (the latest, should stages overlap). */
function roundByStage(facts: CompetitionFacts, timeMs: number): { round: number; by: 'generation_stage'; candidates: number[] } | null {
  const open = facts.rounds.filter((r) => r.generationStages.some((s) => s.fromMs <= timeMs && (s.toMs === null || timeMs < s.toMs)));
  const last = open.at(-1);
  return last ? { round: last.round, by: 'generation_stage', candidates: [last.round] } : null;
}

/** What the state repository says, before it is read: every fact unknown. */
export function noFacts(): Omit<Competition, 'stem' | 'hotkey' | 'output_file' | 'output_hash'> {
  return {
    name: null,
    round: null,
    round_by: null,
    rounds_with_prompt: [],
    prompt_url: null,
    seed: null,
    submitted: null,
    duel: null,
    match: null,
    audit: null,
    round_winner: null,
    state_commit: null,
  };
}

/** The competition section as the facts say, for a generation of `stem` written at `timeMs`. */
export function competitionSection(base: Competition, facts: CompetitionFacts, timeMs: number): Competition {
  const c: Competition = { ...base, ...noFacts(), name: facts.name, state_commit: facts.commit };
  // a request with no file: its round only when a generation stage was open then
  const choice = c.stem !== null ? roundOfGeneration(facts, c.stem, timeMs) : roundByStage(facts, timeMs);
  if (!choice) return c;
  c.round = choice.round;
  c.round_by = choice.by;
  c.rounds_with_prompt = [...choice.candidates].sort((a, b) => a - b);
  const round = facts.rounds.find((r) => r.round === choice.round);
  if (!round) return c;
  c.seed = round.seed;
  if (round.audit)
    c.audit = { outcome: round.audit.outcome, reason: round.audit.reason, failed_prompts: round.audit.failedPrompts, checked_prompts: round.audit.checkedPrompts };
  c.round_winner = round.winner?.hotkey ?? null;
  if (c.stem === null) return c;
  const stem = c.stem;
  c.prompt_url = round.prompts.find((p) => p.stem === stem)?.url ?? null;
  const sub = round.submitted?.[stem];
  if (sub)
    c.submitted = {
      output_url: sub.outputUrl,
      size_bytes: sub.size,
      generation_time: sub.generationTime,
      attempts: sub.attempts,
      distance: sub.distance,
      seen_at: iso(round.submittedUpdatedMs ?? round.submittedSeenMs),
    };
  const match = mainMatch(round, stem);
  if (match) {
    c.match = { score: match.score, margin: match.margin, outcome: match.outcome };
    const duel = match.duels.find((d) => d.stem === stem);
    if (duel)
      c.duel = {
        opponent: match.opponent,
        winner: duel.winner,
        issues: duel.issues,
        opponent_output_url: duel.opponentOutputUrl,
        miner_output_url: duel.minerOutputUrl,
        judged_at: iso(match.updatedMs ?? match.seenMs),
        file: match.file,
      };
  }
  return c;
}

/**
 * Fills the spec's fields from the competition section and the service's own failure, and decides
 * the outcome: a generation that failed stays generation_failed; one the validators found nothing
 * of is submit_failed (its duel, lost by default, is kept in validator_feedback); else the duel says
 * accepted (won) or rejected (lost, draw); without one, no_feedback.
 */
export function settleCompetitionVerdict(r: GenerationRecord): void {
  const c = r.competition;
  if (!c) return;
  r.task.task_type = 'IMAGE-TO-3D';
  r.task.is_base64_image = false;
  r.task.prompt = c.prompt_url;
  const sub = r.generation.submission;
  sub.submitted = c.submitted ? c.submitted.output_url !== null && (c.submitted.size_bytes ?? 0) > 0 : null;
  const fb = r.validator_feedback;
  if (c.duel) {
    fb.received = true;
    fb.feedback_time = c.duel.judged_at;
    fb.score = DUEL_SCORE[c.duel.winner];
    fb.accepted = c.duel.winner === 'miner';
    fb.feedback_delay_seconds =
      fb.feedback_time && sub.submission_time ? Math.round((Date.parse(fb.feedback_time) - Date.parse(sub.submission_time)) / 10) / 100 : null;
  } else {
    fb.received = false;
    fb.feedback_time = null;
    fb.score = null;
    fb.accepted = null;
    fb.feedback_delay_seconds = null;
  }
  const fa = r.failure_analysis;
  const generationFailed = fa.failed && fa.error_type !== 'submit_failed';
  if (!generationFailed && sub.submitted === false)
    r.failure_analysis = {
      failed: true,
      error_type: 'submit_failed',
      error_message: 'the validators found no output for this prompt on the miner\'s CDN',
      stack_trace: null,
    };
  else if (!generationFailed && fa.error_type === 'submit_failed') r.failure_analysis = { failed: false, error_type: null, error_message: null, stack_trace: null };
  if (c.duel?.winner === 'miner' && r.failure_analysis.failed)
    // a won duel says an output was downloaded and judged: a failure saying otherwise is not this output's
    r.failure_analysis = { failed: false, error_type: null, error_message: null, stack_trace: null };
  const failure = r.failure_analysis.failed ? r.failure_analysis.error_type : null;
  if (failure === 'miner_restarted') r.outcome = 'interrupted';
  else if (failure !== null && failure !== 'submit_failed') r.outcome = 'generation_failed';
  // nothing was downloaded: the duel (lost by default) is explained by that, and says so
  else if (failure === 'submit_failed') r.outcome = 'submit_failed';
  else if (c.duel) r.outcome = fb.accepted ? 'accepted' : 'rejected';
  // cut short by the end of an ingest's input: a later run that sees more outranks it
  else if (r.outcome !== 'interrupted') r.outcome = 'no_feedback';
}

/** Every fact the state repository can still add is in: the generation need not be held any longer. */
export function verdictFinal(c: Competition, facts: CompetitionFacts): boolean {
  if (c.round === null) return false;
  const round = facts.rounds.find((r) => r.round === c.round);
  return !!round?.winner && (c.stem === null || c.duel !== null || round.matches.length > 0 || !round.registered);
}
