/**
 * `ingest`: read the given files from their start to their current end, write the records through
 * the store, finish. Never touches the daemon's state: open tasks live in memory and are finished
 * at the end of the input, marked so; a later run that sees their end writes a better revision.
 */
import { readFileLines, scanOutputDir, type Line, type OutputDirSpec, type SourceStats } from '../sources';
import { emptyStats as emptySourceStats } from '../sources/types';
import { createHashers, type FinishedRecord, type Tracker } from '../assemble';
import { silentLogger, type Logger } from '../common/logger';
import { systemClock } from '../common/clock';
import type { LogEvent } from '../parse';
import type { MinerEvent } from '../schema';
import { appendFinished, createParsers, createTracker, openOutputs, sourceKey, type Outputs, type PipelineInputs } from './wiring';
import { Assembly } from './assembly';
import { PromptAnalysis } from './prompt-analysis';
import { StateRepoFollower } from './state-repo';
import { Warnings } from './health';

/** The output directories are read as they are now. */
export interface IngestOptions extends PipelineInputs {
  host?: string;
  /** A test's fault, as the daemon's (`AssemblyOptions.beforeEvent`). */
  beforeEvent?: (e: LogEvent) => void;
  /** Keep this many unmatched entries (file:offset and their start) for the summary. */
  explainUnmatched?: number;
  /** Told at most 4 times a second how far the reading is (bytes of lines read, records finished). */
  onProgress?: (p: { bytes: number; records: number }) => void;
}

export interface IngestSummary {
  files: number;
  lines: number;
  entries: number;
  events: number;
  records: number;
  duplicates: number;
  minerEvents: number;
  unmatched: number;
  damaged: number;
  skipped: number;
  invalid: number;
  /** Output files linked to a generation, and those no generation was running for. */
  outputFiles: number;
  outputFilesWithoutTask: number;
  /** Lines whose handling threw: skipped, each logged with its position. */
  quarantined: number;
  /** Bytes of the files read. */
  bytes: number;
  /** Wall ms spent attributing unnamed events to their generations (the benches report its share). */
  attributionMs: number;
  /** The first unmatched entries (with `explainUnmatched`). */
  unmatchedAt: string[];
}

const APPEND_BATCH = 256;
/** Reads parsed ahead of the events handed on (each up to 1 MiB per file: a few prompts). */
const READS_AHEAD = 8;

export async function runIngest(opts: IngestOptions): Promise<IngestSummary> {
  const { config, streams } = opts;
  const logger = opts.logger ?? silentLogger;
  const hashers = await createHashers();
  const out = await openOutputs(config, logger);
  const outputDirs = opts.outputDirs ?? [];
  const tracker = createTracker(config, opts.minerApp, hashers, out.storeImage, outputDirs, streams, false, opts.host);

  const summary: IngestSummary = {
    files: streams.length,
    lines: 0,
    entries: 0,
    events: 0,
    records: 0,
    duplicates: 0,
    minerEvents: 0,
    unmatched: 0,
    damaged: 0,
    skipped: 0,
    invalid: 0,
    outputFiles: 0,
    outputFilesWithoutTask: 0,
    quarantined: 0,
    bytes: 0,
    attributionMs: 0,
    unmatchedAt: [],
  };
  const prompts = PromptAnalysis.start(config.store_images);
  try {
    return await ingestWith(opts, { logger, tracker, out, outputDirs, summary, prompts });
  } finally {
    await prompts?.close();
  }
}

async function ingestWith(
  opts: IngestOptions,
  { logger, tracker, out, outputDirs, summary, prompts }: { logger: Logger; tracker: Tracker; out: Outputs; outputDirs: OutputDirSpec[]; summary: IngestSummary; prompts: PromptAnalysis | null },
): Promise<IngestSummary> {
  const { config, streams } = opts;
  const assembly = new Assembly(
    { tracker, logger, clock: systemClock, live: false, beforeEvent: opts.beforeEvent, prompts },
    streams.map((spec, i) => ({ id: String(i), key: sourceKey(spec), spec })),
    outputDirs.map((_, k) => `out:${k}`),
  );
  // the output files as they are now, one finished source per directory (sorted by time)
  for (const [k, spec] of outputDirs.entries()) {
    const id = `out:${k}`;
    for (const f of await scanOutputDir(spec, config.output)) assembly.pushOutput(id, f, 0);
    assembly.setIdle(id, true);
  }
  if (config.competition) {
    // the state repository as it is now (ingest never fetches): every generation gets what it says at once
    const facts = await new StateRepoFollower(config.competition, new Warnings(logger), logger).readNow(Date.now());
    if (facts) tracker.setCompetitionFacts(facts);
  }
  /** The read each event came in (see the loop). */
  const readOf = new WeakMap<LogEvent, number>();
  let reads = 0;
  const parsers = createParsers(
    streams,
    config,
    opts.rulesFile,
    (i, e) => {
      readOf.set(e, reads);
      assembly.pushLog(String(i), e, 0);
    },
    opts.explainUnmatched ?? 0,
    prompts ? (bytes) => prompts.copy(bytes) : undefined,
  );
  const inputs = streams.map((spec, i) => {
    const stats: SourceStats = emptySourceStats();
    // a batch's lines are handled before the next is read (their buffers are reused): the parser keeps copies
    const lines = readFileLines(spec.file, { app: spec.app, stream: spec.stream, maxLineBytes: config.maxLineBytes, logger, stats, reuseBuffers: true });
    return { id: String(i), spec, parser: parsers[i]!, stats, lines, done: false };
  });

  // records and miner events are appended in batches: each append takes the lock and syncs
  let pending: FinishedRecord[] = [];
  let pendingEvents: MinerEvent[] = [];
  let lastProgressMs = 0;
  const flushRecords = async (force: boolean): Promise<void> => {
    pending.push(...tracker.drainRecords());
    if (pending.length >= APPEND_BATCH || (force && pending.length)) {
      const r = await appendFinished(out, pending);
      pending = [];
      summary.records += r.written;
      summary.duplicates += r.duplicates;
      summary.invalid += r.invalid.length;
    }
    pendingEvents.push(...tracker.drainMinerEvents());
    if (pendingEvents.length >= APPEND_BATCH || (force && pendingEvents.length)) {
      summary.minerEvents += (await out.minerEvents.append(pendingEvents)).written;
      pendingEvents = [];
    }
  };

  for (;;) {
    // a read's events are handed on READS_AHEAD reads later, parsed while the prompt thread analyses
    // theirs: the same steps every run, whatever the thread's speed (and with no thread, under jest)
    reads++;
    const heldBack = (e: LogEvent): boolean => reads - readOf.get(e)! < READS_AHEAD;
    // a file with nothing to hand on reads: nothing queued, or its next event held back
    const toRead = inputs.filter((i) => {
      const next = assembly.held(i.id) as LogEvent | undefined; // a log source holds log events only
      return !i.done && (next === undefined || heldBack(next));
    });
    for (const input of toRead) {
      const next = await input.lines.next();
      if (next.done) {
        input.parser.flush();
        input.done = true;
        assembly.setIdle(input.id, true);
      } else {
        for (const line of next.value as Line[])
          try {
            input.parser.push(line);
          } catch (err) {
            assembly.quarantineLine(line, err);
          }
        input.parser.detach();
      }
    }
    await assembly.step(0, undefined, heldBack);
    await flushRecords(false);
    if (opts.onProgress) {
      const now = Date.now();
      if (now - lastProgressMs >= 250) {
        lastProgressMs = now;
        opts.onProgress({ bytes: inputs.reduce((n, i) => n + i.stats.bytes, 0), records: summary.records + pending.length });
      }
    }
    if (inputs.every((i) => i.done) && assembly.heldCount === 0) break;
  }
  assembly.finish('input_ended');
  await flushRecords(true);
  summary.outputFiles = tracker.counters.outputFilesLinked;
  summary.outputFilesWithoutTask = tracker.counters.outputFilesWithoutTask;
  summary.quarantined = assembly.counters.quarantined;
  summary.attributionMs = tracker.counters.attributionMs;

  for (const i of inputs) {
    summary.lines += i.parser.stats.lines;
    summary.entries += i.parser.stats.entries;
    summary.events += i.parser.stats.events;
    summary.unmatched += i.parser.stats.unmatched;
    summary.damaged += i.parser.stats.damaged;
    summary.skipped += i.stats.skippedLines;
    summary.bytes += i.stats.bytes;
    for (const u of i.parser.stats.unmatchedAt) if (summary.unmatchedAt.length < (opts.explainUnmatched ?? 0)) summary.unmatchedAt.push(u);
    if (i.parser.stats.damaged)
      logger.warn({ file: i.spec.file, damaged: i.parser.stats.damaged, first: i.parser.stats.damagedAt.at(-1) }, 'damaged lines (PM2 cut long lines)');
  }
  return summary;
}
