/** Shared by the benchmarks: a row is our figure beside its baseline measured in the same run. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

export async function timeIt(fn: () => Promise<void> | void): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

export function printRows(title: string, rows: BenchRow[]): void {
  process.stdout.write(`\n## ${title}\n| measure | value | baseline (same run) | ratio |\n|---|---|---|---|\n`);
  for (const r of rows)
    process.stdout.write(
      `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.baseline === undefined ? '' : `${fmt(r.baseline)} ${r.unit}`} | ${r.ratio === undefined ? '' : r.ratio.toFixed(3)} |\n`,
    );
}

/** A child process under /usr/bin/time: its wall time, its peak RSS, and what it printed. */
export function timedProcess(cmd: string, args: string[]): { secs: number; rssMb: number; stdout: string } {
  const stderrFile = path.join(os.tmpdir(), `dc-bench-time-${process.pid}`);
  const stdout = execFileSync('/usr/bin/time', ['-o', stderrFile, '-f', '%e %M', cmd, ...args], { maxBuffer: 1 << 28, encoding: 'utf8' });
  const [secs, kb] = fs.readFileSync(stderrFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  fs.rmSync(stderrFile, { force: true });
  return { secs: secs!, rssMb: kb! / 1024, stdout };
}
