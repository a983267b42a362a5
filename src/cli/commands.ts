/**
 * The subcommands, as `--help` lists them. A command's module is loaded only when it runs: `analyze`
 * need not load the pipeline, nor the daemon the reports (each module's closure is several MB of RSS).
 */
import type { Command } from './command';

export interface CommandEntry {
  name: string;
  /** One line for `data-collector --help`. */
  summary: string;
  load(): Command;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'run', summary: 'the collector daemon, in the foreground (PM2 runs this)', load: () => (require('./run') as typeof import('./run')).runCommand },
  { name: 'status', summary: "what the collector of a data dir is doing (from its state file and lock)", load: () => (require('./status') as typeof import('./status')).statusCommand },
  { name: 'doctor', summary: 'check config, data dir, disk, PM2, log files and lock; each problem with its fix', load: () => (require('./doctor') as typeof import('./doctor')).doctorCommand },
  { name: 'ingest', summary: 'read log files once (plain, rotated, .gz) and write their records', load: () => (require('./ingest') as typeof import('./ingest')).ingestCommand },
  { name: 'analyze', summary: 'statistics over the recorded generations (--summary, --acceptance-rate, --failures, ...)', load: () => (require('./analyze') as typeof import('./analyze')).analyzeCommand },
  { name: 'export', summary: 'write selected generations with their image/PLY paths as JSONL (training data)', load: () => (require('./export') as typeof import('./export')).exportCommand },
  { name: 'import', summary: "bring a spec system's generation_history*.jsonl[.gz] (and its images, PLYs) into a data dir", load: () => (require('./import') as typeof import('./import')).importCommand },
  { name: 'rotate', summary: 'seal, gzip and archive monthly JSONL files; prune old blobs (--prune-older-than)', load: () => (require('./rotate') as typeof import('./rotate')).rotateCommand },
  { name: 'storage', summary: 'bytes by kind, growth per day, days until the disk is full', load: () => (require('./storage') as typeof import('./storage')).storageCommand },
  { name: 'inspect-ply', summary: 'print the Gaussian statistics of one PLY file (--json for scripts)', load: () => (require('./inspect-ply') as typeof import('./inspect-ply')).inspectPlyCommand },
];
