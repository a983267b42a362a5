/** `data-collector inspect-ply FILE [--json]`: the figures the collector records for one PLY. */
import { summarizePly, NEAR_TRANSPARENT_OPACITY, type PlySummary } from '../ply';
import { parseFlags, UsageError, type Command } from './command';
import { jsonDocument, table } from './format';

const HELP = `Usage: data-collector inspect-ply FILE [--json]

Reads a 3D Gaussian Splatting PLY in one pass and prints what a generation record carries:
num_gaussians, file size, ply_file_hash and gaussian_stats (raw mean/std/min/max of opacity,
scale_0..2 and f_dc_0..2, activated means, the share with sigmoid(opacity) < ${NEAR_TRANSPARENT_OPACITY}, the bounding
box, and nan_count: Gaussians with NaN/Infinity, left out of the other figures).

Flags:
  --json   print the summary as JSON (for scripts)

Exit status: 0 ok, 1 the file is not a readable PLY (one-line reason on stderr), 2 usage error.
`;

function num(v: number | undefined): string {
  if (v === undefined) return '-';
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}

/** The readable form: the record's figures, then one row per measured property. */
export function formatPlySummary(file: string, s: PlySummary): string {
  const g = s.gaussian_stats;
  const lines = [
    `file              ${file}`,
    `format            ${s.format}, ${s.vertex_properties.length} vertex properties`,
    `num_gaussians     ${s.num_gaussians}`,
    `file_size         ${s.file_size_bytes} bytes (${s.file_size_mb.toFixed(3)} MiB)`,
    `ply_file_hash     ${s.ply_file_hash}`,
    `nan_count         ${g.nan_count} (Gaussians with NaN/Infinity, excluded below)`,
  ];
  if (g.near_transparent_share !== undefined) {
    lines.push(`near_transparent  ${(g.near_transparent_share * 100).toFixed(2)} % (sigmoid(opacity) < ${NEAR_TRANSPARENT_OPACITY})`);
  }
  const props = ['opacity', 'scale_0', 'scale_1', 'scale_2', 'f_dc_0', 'f_dc_1', 'f_dc_2'].filter((p) => `${p}_mean` in g);
  if (props.length > 0) {
    lines.push('', table([
      ['property', 'mean', 'std', 'min', 'max', 'activated mean'],
      ...props.map((p) => [p, ...['mean', 'std', 'min', 'max', 'activated_mean'].map((k) => num(g[`${p}_${k}`]))]),
    ], { rule: false }).trimEnd());
  }
  const axes = ['x', 'y', 'z'].filter((a) => `bbox_min_${a}` in g);
  if (axes.length > 0) {
    lines.push('', table([['bbox', 'min', 'max', 'extent'], ...axes.map((a) => [a, num(g[`bbox_min_${a}`]), num(g[`bbox_max_${a}`]), num(g[`extent_${a}`])])], { rule: false }).trimEnd());
  }
  return `${lines.join('\n')}\n`;
}

export const inspectPlyCommand: Command = {
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseFlags('inspect-ply', args, { json: { type: 'boolean' } }, true);
    if (positionals.length !== 1) throw new UsageError('inspect-ply: expected exactly one FILE (see inspect-ply --help)');
    const file = positionals[0]!;
    // A bad file throws a CollectorError (BAD_PLY or an fs code): main prints its one line and exits 1.
    const summary = await summarizePly(file);
    process.stdout.write(values.json ? jsonDocument({ file, ...summary }) : formatPlySummary(file, summary));
    return 0;
  },
};
