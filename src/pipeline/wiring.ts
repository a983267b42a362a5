/** What `ingest` and the daemon build alike: the stores, the image sink, the tracker, the parsers. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { DEFAULT_TRACKER_OPTIONS, latestWriteMs, Tracker, type FinishedRecord, type Hashers, type StoreImage } from '../assemble';
import { BlobStore, openGenerationStore, openMinerEventStore, type AppendResult, type JsonlStore } from '../sinks';
import { compileRules, DEFAULT_RULES, hostTimeZone, StreamParser, type LogEvent, type StreamSpec } from '../parse';
import type { GenerationRecord, MinerEvent } from '../schema';
import type { Config } from '../config';
import { configFileOf, loadConfigFile } from '../config/config';
import { BlobPolicy } from '../sinks/space';
import type { Logger } from '../common/logger';
import { VERSION } from '../version';
import type { OutputDirSpec, OutputFile } from '../sources';
import { endpointGroups } from './inputs';
import { PlyKeeper } from './ply-files';

/** What the daemon and `ingest` read, and with which rules: the same for both. */
export interface PipelineInputs {
  config: Config;
  streams: StreamSpec[];
  /** Worker output directories: their PLY files, linked to the generations by time. */
  outputDirs?: OutputDirSpec[];
  minerApp: string;
  rulesFile?: unknown;
  logger?: Logger;
}

/** A source's key in the state file. */
export function sourceKey(spec: StreamSpec): string {
  return `${spec.role}:${spec.group}:${spec.app}:${spec.stream}:${spec.file}`;
}

/**
 * A complete file of an output directory, merged with the log events by the latest time it can have
 * been written at: after the lines written before it, though its mtime may be a tick earlier (a
 * request's `Task completed.` goes before its output file).
 */
export interface OutputEvent {
  timeMs: number;
  output: OutputFile;
}
/** What the event-time merge carries, in the daemon and in `ingest`. */
export type MergedEvent = LogEvent | OutputEvent;
export const outputEvent = (f: OutputFile): OutputEvent => ({ timeMs: latestWriteMs(f), output: f });
export const isOutputEvent = (e: MergedEvent): e is OutputEvent => 'output' in e;

export interface Outputs {
  records: JsonlStore<GenerationRecord>;
  minerEvents: JsonlStore<MinerEvent>;
  storeImage: StoreImage;
  /** store_images / store_ply_files / retention / minFreeBytes, as the config file says now, and the free-space guard. */
  blobPolicy: BlobPolicy;
  /** Measures and keeps the linked PLY files of finished records. */
  plys: PlyKeeper;
  /** Re-reads the config file if it changed since the last call. */
  checkConfig: () => void;
}

/**
 * Re-reads the config file when it has changed (size or mtime), for the keys that may change while the
 * daemon runs (the blob switches and thresholds). Called by the daemon's loop about once a second: a
 * stat, no watcher to lose (editors replace the file).
 */
function configFollower(config: Config, policy: BlobPolicy, logger: Logger): () => void {
  const file = configFileOf(config);
  if (!file) return () => {};
  const stamp = () => {
    try {
      const st = fs.statSync(file);
      return `${st.size}:${st.mtimeMs}`;
    } catch {
      return '';
    }
  };
  let seen = stamp();
  return () => {
    const now = stamp();
    if (now === seen || now === '') return;
    seen = now;
    try {
      const next = loadConfigFile(file);
      policy.update(next);
      logger.info({ file, store_images: next.store_images, store_ply_files: next.store_ply_files, minFreeBytes: next.minFreeBytes }, 'config re-read');
    } catch (err) {
      logger.warn({ file, error: (err as Error).message }, 'config changed but is invalid; keeping the previous settings');
    }
  };
}

export async function openOutputs(config: Config, logger: Logger): Promise<Outputs> {
  const records = await openGenerationStore({ dataDir: config.dataDir, logger });
  const minerEvents = await openMinerEventStore({ dataDir: config.dataDir, logger });
  const blobs = new BlobStore(config.dataDir);
  const blobPolicy = new BlobPolicy(config.dataDir, config, { logger });
  const checkConfig = configFollower(config, blobPolicy, logger);
  const storeImage: StoreImage = (bytes) => {
    const decision = blobPolicy.image();
    if (decision !== 'store') return { skipped: decision };
    try {
      return { path: blobs.putImage(bytes).relativePath };
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOSPC') {
        blobPolicy.noteNoSpace();
        return { skipped: 'disk_low' };
      }
      logger.warn({ error: (err as Error).message }, 'image not stored');
      return { skipped: 'error' };
    }
  };
  return { records, minerEvents, storeImage, blobPolicy, plys: new PlyKeeper(blobs, blobPolicy, logger), checkConfig };
}

/**
 * How late (event time) the daemon takes a worker's line to be handed on: PM2 relays each app's output
 * to its file, and under load a worker's line can reach its file seconds after the miner's later
 * lines; the merge waits 1 s for it (assembly.ts), the tracker's links 3 s more.
 */
const WORKER_LINES_LATE_MS = 3000;

/** The tracker of the daemon (`live`: its sources are read as PM2 writes them) or of `ingest`. */
export function createTracker(
  config: Config,
  minerApp: string,
  hashers: Hashers,
  storeImage: StoreImage,
  outputDirs: OutputDirSpec[],
  streams: StreamSpec[],
  live: boolean,
  host = os.hostname(),
): Tracker {
  const workerGroups = [...new Set(streams.filter((s) => s.role === 'worker').map((s) => s.group))];
  return new Tracker(
    {
      minerApp,
      host,
      collectorVersion: VERSION,
      minerVersion: config.minerVersion,
      minerConfig: config.minerConfig,
      endpoints: endpointGroups(config),
      validatorHotkeys: config.validatorHotkeys,
      acceptScoreAbove: config.acceptScoreAbove,
      feedbackTimeoutMs: config.feedbackTimeoutMinutes * 60000,
      taskTimeoutMs: config.taskTimeoutMinutes * 60000,
      storeImages: true, // the image sink decides, from the live config and the free-space guard
      workerGroups,
      outputGroups: outputDirs.map((d) => d.group),
      linkAfterEndMs: config.output.linkAfterEndMs,
      maxAnswerLagMs: config.maxAnswerLagSeconds * 1000,
      workerLinesLateMs: live && workerGroups.length ? WORKER_LINES_LATE_MS : 0,
      maxOpenEvents: DEFAULT_TRACKER_OPTIONS.maxOpenEvents,
      competition: config.competition && {
        app: config.competition.generationApp,
        hotkey: config.competition.hotkey,
        host,
        collectorVersion: VERSION,
        minerVersion: config.minerVersion,
        minerConfig: config.minerConfig,
        linkWithinMs: config.competition.linkWithinSeconds * 1000,
        taskTimeoutMs: config.taskTimeoutMinutes * 60000,
        holdMs: config.competition.holdDays * 86_400_000,
      },
    },
    hashers,
    storeImage,
  );
}

/** One parser per stream; events go to `emit` with a finite time (an unreadable one keeps the stream's last). */
export function createParsers(
  streams: StreamSpec[],
  config: Config,
  rulesFile: unknown,
  emit: (index: number, e: LogEvent) => void,
  keepUnmatched = 0,
  copyLongField?: (bytes: Buffer) => Buffer,
): StreamParser[] {
  const rules = compileRules(DEFAULT_RULES, rulesFile);
  const timeZone = config.timeZone ?? hostTimeZone();
  return streams.map((spec, i) => {
    let lastMs = Number.NEGATIVE_INFINITY;
    return new StreamParser(spec, { rules, timeZone, keepUnmatched, copyLongField }, (e) => {
      if (!Number.isFinite(e.timeMs)) e.timeMs = Number.isFinite(lastMs) ? lastMs : 0;
      lastMs = e.timeMs;
      emit(i, e);
    });
  });
}

/** Keeps their PLYs, then appends finished records, each with the superseded ids the store will keep if they exist. */
export async function appendFinished(out: Pick<Outputs, 'records' | 'plys'>, finished: FinishedRecord[]): Promise<AppendResult> {
  await out.plys.complete(finished);
  return out.records.append(finished.map((f) => ({ ...f.record, provenance: { ...f.record.provenance, supersedes: f.supersedesIfPresent } })));
}
