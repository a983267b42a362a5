/** `data-collector analyze`: the spec's "View Statistics" over every record of one or more data dirs. */
import { parseFlags, UsageError, type Command } from './command';
import { processIo, type CliIo } from './io';
import { loadSelection, nothingReadable } from './selection';
import { jsonDocument, snakeKeys } from './format';
import { FILTER_FLAGS, FILTER_HELP, analyze, splitByHost, type Analysis } from '../query';
import { renderAcceptance, renderClip, renderDuels, renderFailures, renderGroups, renderScanFooter, renderSummary, renderValidators } from '../report/text';
import { analyzeCompetition } from '../query/competition';
import { writeHtmlReport } from '../report/html';

const HELP = `Usage: data-collector analyze [--summary] [--acceptance-rate] [--failures] [--clip-distribution]
                              [--validator [UID]] [--duels] [--report FILE.html] [--group-by host] [--json] [selection]

Reads every record under the data dirs (generation_history.jsonl, the monthly files, their .gz forms
and archive/), keeps only the latest revision of each generation and drops superseded records, then
prints the sections asked for (--summary when none is, and --duels too when the selection holds
competition generations). Counting is by the record's outcome;
acceptance rate = accepted / records with validator feedback received.

Sections:
  --summary            counts, acceptance, by task type, score / CLIP / generation-time percentiles,
                       submission and failure rates, inferred attribution, first/last record
  --acceptance-rate    overall, by task type, by day (UTC)
  --failures           by error type: count, share of failures, a sample message
  --clip-distribution  histogram of quality_metrics.clip_score with the threshold marked
  --clip-threshold X   the threshold to mark (default: the records' most common miner_config.clip_threshold)
  --clip-bin W         histogram bin width (default 0.02)
  --validator [UID]    that validator's acceptance, scores and feedback delays (and only its records);
                       without UID: a table of all validators
  --duels              competition mode: per round and per day, generations judged, won, drawn, lost,
                       win rate (won / judged), not downloaded; the judges' most common texts on lost prompts
  --group-by host      compare the hosts of a fleet side by side
  --report FILE.html   write a self-contained HTML report (charts drawn inline, no network)
  --json               the same numbers as JSON (for scripts)
  --config FILE        the collector's config (its data dir is the default --data-dir)

${FILTER_HELP}
Records in the spec's own schema (what its Python logger wrote: no outcome, no provenance) are read
too: their outcome is derived from validator_feedback, failure_analysis and generation.submission
(data/README.md, "Records in the spec's schema"); scope.scan.spec_records counts them.

Percentiles are exact (nearest rank). Lines that cannot be counted are skipped and counted: corrupt
(not JSON) and not a record (JSON, but neither our schema nor the spec's); each count, the first
file:line and, for not-a-record, the first field it lacks are reported at the end (on stderr with
--json; in scope.scan too).

Exit status: 0 ok (also for a data dir with no records yet), 1 a data dir cannot be read, or nothing
could be read at all (no record, but corrupt or not-a-record lines), 2 usage error.
`;

export const ANALYZE_FLAGS = {
  ...FILTER_FLAGS,
  config: { type: 'string' },
  summary: { type: 'boolean' },
  'acceptance-rate': { type: 'boolean' },
  failures: { type: 'boolean' },
  'clip-distribution': { type: 'boolean' },
  duels: { type: 'boolean' },
  'clip-threshold': { type: 'string' },
  'clip-bin': { type: 'string' },
  'group-by': { type: 'string' },
  report: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** `--validator` with no UID (last, or followed by a flag) means "all validators". */
export function normalizeArgs(args: string[]): string[] {
  return args.map((a, i) => (a === '--validator' && (i + 1 >= args.length || args[i + 1]!.startsWith('--')) ? '--validator=all' : a));
}

const numberFlag = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag}: expected a number, got '${v}'`);
  return n;
};

function count(sel: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < sel.length; i++) n += sel[i]!;
  return n;
}

export async function runAnalyze(args: string[], io: CliIo = processIo): Promise<number> {
  const { values } = parseFlags('analyze', normalizeArgs(args), ANALYZE_FLAGS);
  if (values['group-by'] !== undefined && values['group-by'] !== 'host') throw new UsageError(`analyze: --group-by: only 'host' is supported`);
  const opts = { clipThreshold: numberFlag('clip-threshold', values['clip-threshold']), clipBinWidth: numberFlag('clip-bin', values['clip-bin']) };
  if (opts.clipBinWidth !== undefined && opts.clipBinWidth <= 0) throw new UsageError('analyze: --clip-bin: expected a number > 0');
  const validatorView = values.validator === undefined ? undefined : values.validator === 'all' ? null : Number(values.validator);
  const wanted = {
    summary: Boolean(values.summary),
    acceptance: Boolean(values['acceptance-rate']),
    failures: Boolean(values.failures),
    clip: Boolean(values['clip-distribution']),
    validators: validatorView !== undefined,
    duels: Boolean(values.duels),
  };
  const noSection = !Object.values(wanted).some(Boolean) && !values.report && !values['group-by'];

  const { ds, sel, filter, dataDirs, now } = await loadSelection('analyze', values, io);
  const a = analyze(ds, sel, opts);
  const duels = analyzeCompetition(ds, sel);
  if (noSection) {
    wanted.summary = true;
    // competition generations: their duels are what the operator asks about
    wanted.duels = duels !== null;
  }
  const groups: [string, Analysis][] | null = values['group-by'] ? [...splitByHost(ds, sel)].map(([h, s]) => [h, analyze(ds, s, opts)]) : null;
  const selected = count(sel);

  if (values.report) {
    writeHtmlReport(values.report, { analysis: a, duels, groups, stats: ds.stats, selected, dataDirs, filter, now });
    io.stderr(`report written to ${values.report}\n`);
  }
  if (values.json) {
    const pick = (x: Analysis): Record<string, unknown> => ({
      ...(wanted.summary ? { summary: x.summary } : {}),
      ...(wanted.acceptance ? { acceptance: x.acceptance } : {}),
      ...(wanted.failures ? { failures: x.failures } : {}),
      ...(wanted.clip ? { clip_distribution: x.clip_distribution } : {}),
      ...(wanted.validators ? { validators: validatorView === null ? x.validators : x.validators.filter((v) => v.validator_uid === validatorView) } : {}),
    });
    const competition = wanted.duels ? { duels: duels } : {};
    const out = {
      scope: { data_dirs: dataDirs, filter: snakeKeys(filter), now: new Date(now).toISOString(), scan: snakeKeys(ds.stats), selected, acceptance_rate: 'accepted / feedback_received' },
      ...pick(a),
      ...competition,
      ...(groups ? { groups: Object.fromEntries(groups.map(([h, g]) => [h, { summary: g.summary, ...pick(g) }])) } : {}),
    };
    io.stdout(jsonDocument(out));
    if (ds.stats.corrupt > 0 || ds.stats.notRecord > 0) io.stderr(renderScanFooter(ds.stats, selected).trimStart());
    return nothingReadable(ds) ? 1 : 0;
  }
  const parts: string[] = [];
  if (groups) parts.push(renderGroups(groups));
  if (wanted.summary) parts.push(renderSummary(a));
  if (wanted.acceptance) parts.push(renderAcceptance(a));
  if (wanted.failures) parts.push(renderFailures(a));
  if (wanted.clip) parts.push(renderClip(a));
  if (wanted.validators) parts.push(renderValidators(a, validatorView ?? null));
  if (wanted.duels) parts.push(renderDuels(duels));
  io.stdout(parts.join('\n') + renderScanFooter(ds.stats, selected));
  return nothingReadable(ds) ? 1 : 0;
}

export const analyzeCommand: Command = {
  help: HELP,
  run: (args) => runAnalyze(args),
};
