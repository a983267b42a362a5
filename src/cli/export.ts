/** `data-collector export`: the spec's "Export Training Data": selected records with absolute file paths. */
import { parseFlags, UsageError, type Command } from './command';
import { processIo, type CliIo } from './io';
import { loadSelection, nothingReadable } from './selection';
import { jsonDocument, snakeKeys, table } from './format';
import { FILTER_FLAGS, FILTER_HELP, exportRecords, type ExportSummary } from '../query';
import { renderSkipped } from '../report/text';

const HELP = `Usage: data-collector export --output FILE [--require-files] [--pairs] [--json] [selection]

Writes the selected generations (latest revision only, superseded records dropped) to FILE as JSONL:
each line is the stored record unchanged plus one last key, "export":
  {"data_dir": ABS, "image_path": ABS or null, "ply_path": ABS or null, "missing": ["image"|"ply", ...]}
(image_path/ply_path: absolute paths of files that exist; missing: what a training set lacks: the image
of an IMAGE-TO-3D task, the PLY of any task). Remove "export" to get a record valid per the schema.
A record in the spec's own schema (no outcome, no provenance) is written as read into ours: its fields,
our added keys (null where unknown), the derived outcome, and provenance.sources naming its file and
offset (event "spec_record"); see data/README.md, "Records in the spec's schema".
The file is written as FILE.tmp and renamed at the end: an export is whole or absent.

Competition mode: an output file is "ply" above (output_path: where the generation wrote it, while it
still holds the bytes that were judged (competition.output_hash; a carry-over prompt's file is written
again next round); ply_path: the copy kept in ply_files/); the prompt is competition.prompt_url.
--pairs writes instead one training pair per judged generation (records with no duel are counted, not
written): {generation_id, competition, round, stem, prompt_url, seed, output_path, kept_path,
output_hash, output_url, opponent, opponent_output_url, winner, issues}; with --accepted-only, the won
prompts only (accepted = the miner won the duel).

Flags:
  --output FILE     where to write (required)
  --pairs           competition mode: training pairs of judged generations (see above)
  --require-files   drop records whose image or PLY file is missing (default: keep and report them)
  --json            print the summary as JSON
  --config FILE     the collector's config (its data dir is the default --data-dir)

${FILTER_HELP}
Corrupt lines (not JSON) and lines that are no record (JSON, neither schema) are skipped and counted
on stderr. When nothing could be read at all (no record, but such lines), nothing is written.

Exit status: 0 ok, 1 a data dir cannot be read, nothing could be read, or FILE cannot be written,
2 usage error.
`;

const EXPORT_FLAGS = {
  ...FILTER_FLAGS,
  config: { type: 'string' },
  output: { type: 'string' },
  'require-files': { type: 'boolean' },
  pairs: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export function renderExportSummary(s: ExportSummary): string {
  const m = s.missing_files;
  const lines = [
    `Exported ${s.written} of ${s.selected} selected records to ${s.output}${s.not_judged ? ` (${s.not_judged} not judged: no pair)` : ''}`,
    m.records > 0
      ? `Missing files: ${m.records} records (image: ${m.image}, ply: ${m.ply}); ${m.dropped ? `${m.dropped} dropped (--require-files)` : 'kept (use --require-files to drop them)'}`
      : 'Missing files: none',
    ...m.examples.map((e) => `  ${e.generation_id}: ${e.missing.join(', ')}`),
    `Score range: ${s.score ? `${s.score.min} - ${s.score.max}` : '-'}`,
    '',
    table([['task type', 'records'], ...Object.entries(s.by_task_type).sort().map(([t, n]) => [t, String(n)])]),
  ];
  return lines.join('\n');
}

export async function runExport(args: string[], io: CliIo = processIo): Promise<number> {
  const { values } = parseFlags('export', args, EXPORT_FLAGS);
  if (!values.output) throw new UsageError('export: --output FILE is required');
  const { ds, sel } = await loadSelection('export', values, io);
  const scan = ds.stats;
  if (nothingReadable(ds)) {
    io.stderr(`export: no record could be read; nothing written to ${values.output}\n${renderSkipped(scan)}`);
    return 1;
  }
  const s = await exportRecords(ds, sel, { output: values.output, requireFiles: values['require-files'], pairs: values.pairs });
  if (values.json) io.stdout(jsonDocument({ ...s, scan: snakeKeys(scan) }));
  else io.stdout(renderExportSummary(s));
  if (scan.corrupt > 0 || scan.notRecord > 0 || !values.json) io.stderr(renderSkipped(scan));
  if (scan.specRecords > 0 && !values.json) io.stderr(`Records in the spec's schema (written as read into ours): ${scan.specRecords}\n`);
  return 0;
}

export const exportCommand: Command = {
  help: HELP,
  run: (args) => runExport(args),
};
