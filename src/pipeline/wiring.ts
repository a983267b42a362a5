/** What `ingest` and the daemon build alike: the stores, the image sink, the tracker, the parsers. */
import * as os from 'node:os';
import { Tracker, type FinishedRecord, type Hashers, type StoreImage } from '../assemble';
import { BlobStore, openGenerationStore, openMinerEventStore, type AppendResult, type JsonlStore } from '../sinks';
import { compileRules, DEFAULT_RULES, hostTimeZone, StreamParser, type LogEvent, type StreamSpec } from '../parse';
import type { GenerationRecord, MinerEvent } from '../schema';
import type { Config } from '../config';
import type { Logger } from '../common/logger';
import { VERSION } from '../version';
import { endpointGroups } from './inputs';

export interface Outputs {
  records: JsonlStore<GenerationRecord>;
  minerEvents: JsonlStore<MinerEvent>;
  storeImage: StoreImage;
}

export async function openOutputs(config: Config, logger: Logger): Promise<Outputs> {
  const records = await openGenerationStore({ dataDir: config.dataDir, logger });
  const minerEvents = await openMinerEventStore({ dataDir: config.dataDir, logger });
  const blobs = new BlobStore(config.dataDir);
  const storeImage: StoreImage = (bytes) => {
    try {
      return { path: blobs.putImage(bytes).relativePath };
    } catch (err) {
      logger.warn({ error: (err as Error).message }, 'image not stored');
      return { skipped: 'error' };
    }
  };
  return { records, minerEvents, storeImage };
}

export function createTracker(config: Config, minerApp: string, hashers: Hashers, storeImage: StoreImage, host = os.hostname()): Tracker {
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
      storeImages: config.store_images,
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
): StreamParser[] {
  const rules = compileRules(DEFAULT_RULES, rulesFile);
  const timeZone = config.timeZone ?? hostTimeZone();
  return streams.map((spec, i) => {
    let lastMs = Number.NEGATIVE_INFINITY;
    return new StreamParser(spec, { rules, timeZone }, (e) => {
      if (!Number.isFinite(e.timeMs)) e.timeMs = Number.isFinite(lastMs) ? lastMs : 0;
      lastMs = e.timeMs;
      emit(i, e);
    });
  });
}

/** Appends finished records, each with the superseded ids the store will keep if they exist. */
export function appendFinished(store: JsonlStore<GenerationRecord>, finished: FinishedRecord[]): Promise<AppendResult> {
  return store.append(finished.map((f) => ({ ...f.record, provenance: { ...f.record.provenance, supersedes: f.supersedesIfPresent } })));
}
