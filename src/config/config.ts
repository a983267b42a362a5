/**
 * The collector's own configuration: which PM2 apps to follow (the miner, and each worker as a
 * group whose log files, endpoint URL and output directory belong together), where the data goes,
 * and the settings records carry. JSON file (`--config`), every key optional.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { CollectorError } from '../common/errors';
import { formatIssues } from '../schema';

function isRegExp(s: string): boolean {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}

export const WorkerGroupSchema = z.strictObject({
  /** The group's name; a `--worker-log NAME=PATH` joins the group of that name. */
  name: z.string().min(1),
  pm2App: z.string().min(1).nullable().default(null).describe('PM2 app of the worker (its logs are found through PM2).'),
  endpoint: z.string().nullable().default(null).describe('Endpoint URL as the miner logs it, e.g. http://127.0.0.1:8093.'),
  logs: z.array(z.string()).default([]).describe('Explicit log files (instead of PM2 discovery).'),
  outputDir: z.string().nullable().default(null).describe('Directory where this worker writes its PLY files.'),
});
export type WorkerGroup = z.output<typeof WorkerGroupSchema>;

/** Competition mode (reference: competition.md): the generation service, its output directory, the state repository. */
export const CompetitionConfigSchema = z.strictObject({
  stateRepo: z.string().min(1).describe('A local git clone of the competition\'s state repository (e.g. 404-Repo/404-active-competition).'),
  hotkey: z
    .string()
    .regex(/^5[1-9A-HJ-NP-Za-km-z]{47}$/, { error: 'expected the miner\'s public SS58 hotkey (48 characters starting with 5)' })
    .describe("The miner's public hotkey, as the state repository names it (public, not a secret)."),
  outputDir: z.string().min(1).describe('Where the driver saves each round prompt\'s output as {stem}.ply, .glb or .js.'),
  generationApp: z.string().min(1).default('generation').describe('PM2 app of the generation service.'),
  logs: z.array(z.string()).default([]).describe('Explicit log files of the generation service (instead of PM2 discovery).'),
  fetchMinutes: z.number().min(0).default(10).describe('git fetch + fast-forward of stateRepo every this many minutes; 0: never (read what is there).'),
  namePattern: z
    .string()
    .refine(isRegExp, { error: 'not a valid regular expression' })
    .default('\\.(ply|glb|js)$')
    .describe('Output files to take (path relative to outputDir).'),
  linkWithinSeconds: z.number().positive().default(30).describe('A file written up to this long after a request completed is that request\'s output.'),
  holdDays: z.number().positive().default(14).describe('A generation whose duel has not landed after this long is let go (its last revision stands).'),
});
export type CompetitionConfig = z.output<typeof CompetitionConfigSchema>;

export const ConfigSchema = z.strictObject({
  dataDir: z.string().default('data'),
  miner: z
    .strictObject({
      pm2App: z.string().min(1).default('miner-sn17-mainnet'),
      logs: z.array(z.string()).default([]),
    })
    .default({ pm2App: 'miner-sn17-mainnet', logs: [] }),
  workers: z
    .array(WorkerGroupSchema)
    .default([{ name: 'gen-worker-1', pm2App: 'gen-worker-1', endpoint: null, logs: [], outputDir: null }]),
  /** PM2's home (default: $PM2_HOME, else ~/.pm2). */
  pm2Home: z.string().nullable().default(null),
  /** IANA zone of the miner's header times (default: the host's). */
  timeZone: z.string().nullable().default(null),
  rulesFile: z.string().nullable().default(null),
  minerVersion: z.string().nullable().default(null),
  /** A JSON or flat YAML file of the miner's settings, watched: its values go into miner_config, changes into miner_config_history.jsonl. */
  minerConfigFile: z.string().nullable().default(null),
  /** The miner's settings, copied into each record's miner_config (e.g. trellis_sparse_steps). */
  minerConfig: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
  /** Validator uid -> hotkey, since the miner logs hotkeys only in failure lines. */
  validatorHotkeys: z.record(z.string().regex(/^\d+$/), z.string()).default({}),
  acceptScoreAbove: z.number().default(0),
  feedbackTimeoutMinutes: z.number().positive().default(15),
  taskTimeoutMinutes: z.number().positive().default(60),
  /**
   * The miner logs a generation's end at most this long after its worker's answer (the answer's
   * transfer and the miner's event loop). Attribution treats it as certain: raise it for a remote
   * worker on a slow link.
   */
  maxAnswerLagSeconds: z.number().positive().default(10),
  /** The spec's switches: store input images / accepted PLY files (else only their hashes). */
  store_images: z.boolean().default(true),
  store_ply_files: z.boolean().default(true),
  /** Monthly JSONL files: gzipped after this many months, moved to archive/ after this many (docs/storage.md). */
  rotation: z
    .strictObject({
      gzipAfterMonths: z.number().int().min(0).default(3),
      archiveAfterMonths: z.number().int().min(0).default(6),
    })
    .default({ gzipAfterMonths: 3, archiveAfterMonths: 6 }),
  /** Blobs: keep PLYs of rejected generations too; `rotate` deletes blobs and archives older than N months. */
  retention: z
    .strictObject({
      keepRejectedPly: z.boolean().default(false),
      pruneAfterMonths: z.number().int().positive().nullable().default(null),
    })
    .default({ keepRejectedPly: false, pruneAfterMonths: null }),
  /** Below this many free bytes on the data dir's disk, images and PLYs are not stored (records keep the hashes). */
  minFreeBytes: z.number().int().min(0).default(2 * 1024 ** 3),
  /** How the workers' output directories (`workers[].outputDir`) are read (docs/outputs.md). */
  output: z
    .strictObject({
      namePattern: z
        .string()
        .refine(isRegExp, { error: 'not a valid regular expression' })
        .default('\\.ply$')
        .describe('Files to take (path relative to the directory); named groups unix_s or unix_ms give the time instead of the mtime.'),
      stableMs: z.number().int().min(0).default(1000).describe('A file is complete once its size has not changed for this long.'),
      depth: z.number().int().min(0).max(8).default(0).describe('Subdirectory levels to look into.'),
      linkAfterEndMs: z
        .number()
        .int()
        .min(0)
        .default(5000)
        .describe('A file finished up to this long after the generation ended still belongs to it.'),
    })
    .default({ namePattern: '\\.ply$', stableMs: 1000, depth: 0, linkAfterEndMs: 5000 }),
  /** Where a never-seen log file (or output directory) is read from. */
  startAt: z.enum(['beginning', 'end']).default('beginning'),
  /** Competition mode: set, the collector follows the generation service instead of a pull/submit miner (README, "Competition mode"). */
  competition: CompetitionConfigSchema.nullable().default(null),
  maxLineBytes: z.number().int().positive().default(64 * 1024 * 1024),
});
export type Config = z.output<typeof ConfigSchema>;

/** The file each loaded config came from, so the daemon can re-read it when it changes. */
const configFiles = new WeakMap<Config, string>();

export function configFileOf(config: Config): string | null {
  return configFiles.get(config) ?? null;
}

export function defaultConfig(): Config {
  return ConfigSchema.parse({});
}

/** Reads and validates a config file; relative paths in it are relative to the file. */
export function loadConfigFile(file: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CollectorError('CONFIG_INVALID', `cannot read the config: ${(err as Error).message}`, file, 'fix the JSON');
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success)
    throw new CollectorError('CONFIG_INVALID', `invalid config: ${formatIssues(parsed.error)}`, file, 'fix the config file');
  const base = path.dirname(path.resolve(file));
  const abs = (p: string) => path.resolve(base, p);
  const c = parsed.data;
  const config: Config = {
    ...c,
    dataDir: abs(c.dataDir),
    rulesFile: c.rulesFile && abs(c.rulesFile),
    minerConfigFile: c.minerConfigFile && abs(c.minerConfigFile),
    miner: { ...c.miner, logs: c.miner.logs.map(abs) },
    workers: c.workers.map((w) => ({ ...w, logs: w.logs.map(abs), outputDir: w.outputDir && abs(w.outputDir) })),
    competition: c.competition && {
      ...c.competition,
      stateRepo: abs(c.competition.stateRepo),
      outputDir: abs(c.competition.outputDir),
      logs: c.competition.logs.map(abs),
    },
  };
  configFiles.set(config, path.resolve(file));
  return config;
}

/** `miner-sn17-mainnet-out.log`, `gen-worker-1-error-0.log`, `<app>-out__2025-11-12_21-30-00.log.gz` -> app, stream. */
export function pm2FileName(file: string): { app: string; stream: 'out' | 'error' } | null {
  const m = /^(.+?)-(out|error|err)(?:-\d+)?(?:__[\d_-]+)?\.log(?:\.\d+)?(?:\.gz)?$/.exec(path.basename(file));
  if (!m) return null;
  return { app: m[1]!, stream: m[2] === 'out' ? 'out' : 'error' };
}
