/**
 * The `competition` section of a generation record: what subnet 17's competition (since 2025-12-10)
 * says of one generation — its round, what the validators downloaded, its duel and the round's end.
 * Null in a pull/submit record. How it maps onto the spec's fields is in data/README.md.
 */
import { z } from 'zod';
import { isoTime, nullableCount, nullableNumber, nullableString, sha256Ref } from './common';
import { DUEL_WINNERS, ROUND_CHOICES } from './constants';

export { DUEL_WINNERS, ROUND_CHOICES };

const SubmittedSchema = z
  .strictObject({
    output_url: nullableString().describe('The output the validators took from the miner\'s CDN; null when they found none.'),
    size_bytes: nullableCount().describe('Its size as the validators measured (0: nothing came).'),
    generation_time: nullableNumber().describe('Seconds, as the validators measured.'),
    attempts: nullableCount().describe('Download attempts (competition 1).'),
    distance: nullableNumber().describe('The validators\' distance of the output from the prompt (competition 1).'),
    seen_at: isoTime().nullable().describe('Commit time of the state repository commit that wrote this file as it stands (retried downloads rewrite it).'),
  })
  .describe("The round's submitted.json (competition 1) or generations.json (competition 0) entry for this prompt.");

const DuelSchema = z
  .strictObject({
    opponent: z.string().min(1).describe('`leader` or the opponent\'s hotkey.'),
    winner: z.enum(DUEL_WINNERS).describe('Who won this prompt\'s duel, from the miner\'s side.'),
    issues: nullableString().describe("The judge's text about the two outputs."),
    opponent_output_url: nullableString().describe("The opponent's output for this prompt."),
    miner_output_url: nullableString().describe("The miner's output as the judge saw it."),
    judged_at: isoTime().nullable().describe('Commit time of the commit that wrote the duel file as it stands (a re-judged round rewrites it).'),
    file: z.string().min(1).describe('The duel file in the state repository, e.g. rounds/1/<hotkey>/duels_leader.json.'),
  })
  .describe('The duel of this prompt against the leader (or, without one, the first opponent).');

const MatchSchema = z
  .strictObject({
    score: nullableNumber().describe('The match score from the miner\'s side (wins minus losses over the round\'s prompts).'),
    margin: nullableNumber().describe('The match margin from the miner\'s side (score / prompts); the miner needs > win_margin.'),
    outcome: nullableString().describe('Competition 0\'s verdict of the match, e.g. leader_defends; null in competition 1.'),
  })
  .describe('The whole match (all the round\'s prompts) this duel belongs to.');

const AuditSchema = z
  .strictObject({
    outcome: nullableString().describe('passed, rejected, ... as the state repository writes it.'),
    reason: nullableString(),
    failed_prompts: nullableCount(),
    checked_prompts: nullableCount(),
  })
  .describe("The audit of the miner's round (its outputs regenerated from its Docker image).");

export const CompetitionSectionSchema = z
  .strictObject({
    name: nullableString().describe('The competition\'s name in its config.json, e.g. contest (competition 0) or mesh.'),
    round: z.number().int().nonnegative().nullable().describe('The round the generation was made for; null while no round holds its prompt.'),
    round_by: z
      .enum(ROUND_CHOICES)
      .nullable()
      .describe(
        'How the round was chosen: generation_stage: written (for a request with no file: received) while that round\'s ' +
          'generation stage was open; published_before: outside every stage, the latest round that had published the prompt by then.',
      ),
    rounds_with_prompt: z.array(z.number().int().nonnegative()).describe('Every round whose prompts.txt holds the stem (a carry-over prompt is in several).'),
    stem: z
      .string()
      .min(1)
      .nullable()
      .describe("The prompt's id: the prompt image's file name without extension, and the output file's name; null for a request that left no file (its prompt is unknown)."),
    prompt_url: nullableString().describe('The prompt image URL from the round\'s prompts.txt.'),
    seed: z.number().int().nullable().describe("The round's seed."),
    hotkey: z.string().min(1).describe("The miner's public hotkey (from the collector's config)."),
    output_file: z.string().min(1).nullable().describe('The output file as the collector read it (absolute path); null for a request that left none.'),
    output_hash: sha256Ref().nullable().describe('sha256:<hex> of the output file as read.'),
    submitted: SubmittedSchema.nullable(),
    duel: DuelSchema.nullable(),
    match: MatchSchema.nullable(),
    audit: AuditSchema.nullable(),
    round_winner: nullableString().describe("winner.json's winner: `leader` or a hotkey; null until the round is decided."),
    state_commit: nullableString().describe('The state repository commit these facts were read at.'),
  })
  .describe('Competition mode only (null otherwise): the generation\'s round and its duel result.');

export type CompetitionSection = z.infer<typeof CompetitionSectionSchema>;

/**
 * How much of the competition's verdict a record has, 0-6: a later revision is written only when it
 * knows more: the round, the download listed, then found (a retried download), the duel, the
 * round's winner, the audit. Facts only grow, so the same commit read again adds no revision.
 */
export function competitionStage(c: CompetitionSection | null | undefined): number {
  if (!c) return 0;
  const downloaded = c.submitted ? 1 + ((c.submitted.size_bytes ?? 0) > 0 && c.submitted.output_url !== null ? 1 : 0) : 0;
  return (c.round !== null ? 1 : 0) + downloaded + (c.duel ? 1 : 0) + (c.round_winner !== null ? 1 : 0) + (c.audit ? 1 : 0);
}

/**
 * When the state repository last wrote what the record says (seconds): a re-judged duel or a retried
 * download rewrites a file without adding a fact, and is worth a revision all the same.
 */
export function competitionWrittenSeconds(c: CompetitionSection | null | undefined): number {
  if (!c) return 0;
  const times = [c.submitted?.seen_at, c.duel?.judged_at].map((t) => (t ? Math.floor(Date.parse(t) / 1000) : 0));
  return Math.max(0, ...times);
}
