/**
 * Helpers for the tracker tests: real log line strings -> real LogEvents (the StreamParser with the
 * default rules, in memory), a Tracker with test options, and a driver that feeds it as `ingest` does
 * (tick at each event's time, then push; finishAll at the end of the input).
 */
import { encodePng } from '../fixtures/fake-miner/images';
import { sha256Hex } from '../fixtures/fake-miner/logid';
import { StreamParser, compileRules, DEFAULT_RULES, type LogEvent, type StreamSpec } from '../../src/parse';
import type { CompiledRule } from '../../src/parse/rules';
import { Tracker, createHashers, DEFAULT_TRACKER_OPTIONS, type FinishedRecord, type Hashers, type TrackerOptions } from '../../src/assemble';
import type { OutputFile } from '../../src/sources/output-dir';
import { GenerationRecordSchema, type GenerationRecord } from '../../src/schema';
import { bt, lineAt, loguru, type Level } from '../parse/helpers';
import CUSTOM_WORKER_RULES from '../../examples/rules.custom-worker.json';

// ---- streams ----

export const MINER: StreamSpec = { app: 'miner-sn17-mainnet', role: 'miner', group: 'miner', stream: 'out', file: '/logs/miner-sn17-mainnet-out.log' };
export const W1: StreamSpec = { app: 'gen-worker-1', role: 'worker', group: 'g1', stream: 'error', file: '/logs/gen-worker-1-error.log' };
export const W2: StreamSpec = { app: 'gen-worker-2', role: 'worker', group: 'g2', stream: 'error', file: '/logs/gen-worker-2-error.log' };

/** The endpoint URLs exactly as the miner's failure lines name them (upstream: urljoin(endpoint, "/generate/")). */
export const URL1 = 'http://127.0.0.1:8093/generate/';
export const URL2 = 'http://127.0.0.1:8094/generate/';
export const ENDPOINTS: Record<string, string> = { [URL1]: 'g1', [URL2]: 'g2' };

export const DEFAULT_RULES_COMPILED = compileRules(DEFAULT_RULES);
/** The defaults plus the README's custom-worker example (worker lines that name a prompt kind and a PLY path). */
export const CUSTOM_RULES = compileRules(DEFAULT_RULES, CUSTOM_WORKER_RULES);

// ---- time ----

/** 2025-11-12 21:30:00.000 UTC: second 0 of every test. */
export const T0 = Date.UTC(2025, 10, 12, 21, 30, 0);
/** Event time (UTC ms) of second `s`. */
export const at = (s: number): number => T0 + Math.round(s * 1000);
/** The header time text of second `s` (`YYYY-MM-DD HH:MM:SS.mmm`, read as UTC). */
export function timeText(s: number): string {
  return new Date(at(s)).toISOString().replace('T', ' ').replace('Z', '');
}
/** The ISO time a record carries for second `s`. */
export const iso = (s: number): string => new Date(at(s)).toISOString();

// ---- lines ----

export type Line = [StreamSpec, string];

/** A miner line (bittensor format, trace field) at second `s`. */
export const m = (s: number, msg: string, level: Level = 'DEBUG'): Line => [MINER, bt(msg, { time: timeText(s), level })];
/** A worker line (loguru format) at second `s`. */
export const w = (spec: StreamSpec, s: number, msg: string, level: Level = 'INFO', where = 'pipeline:trellis:183'): Line => [
  spec,
  loguru(msg, { time: timeText(s), level, where }),
];
/** A header-less continuation line (a traceback line) of a stream. */
export const raw = (spec: StreamSpec, text: string): Line => [spec, text];

/** The miner's messages of one task, as upstream writes them. */
export const msg = {
  received: (prompt: string) => `Task received. Prompt: ${prompt}.`,
  generating: (prompt: string) => `Generating for prompt: ${prompt} with timeout None seconds`,
  completed: (bytes: number) => `Generation completed. Size: ${bytes}`,
  failed: (code: number) => `Generation failed with code: ${code}`,
  unreachable: (url: string) => `Failed to connect to the endpoint. The endpoint might be inaccessible: ${url}.`,
  timedOut: (url: string) => `The request to the endpoint timed out: ${url}`,
  clientError: (error: string, url: string) => `An unexpected client error occurred: ${error} (${url})`,
  unexpectedError: (error: string, url: string) => `An unexpected error occurred: ${error} (${url})`,
  submitFailed: (hotkey: string, reason: string) => `Failed to submit results to [${hotkey}]. Reason: ${reason}.`,
  feedback: (uid: number, score: string, logId: string) => `Feedback received from [${uid}]. Score: ${score}. (${logId})`,
  oldFeedback: (uid: number, prompt: string, score: string) => `Feedback received from [${uid}]. Prompt: ${prompt}. Score: ${score}`,
  detail: (avg: string, rating: string, accepted: number, reward: string) =>
    `Average score: ${avg}. Current duel rating: ${rating}. Accepted results (last 4h): ${accepted}. Reward: ${reward}.`,
  querying: (uid: number, stake: string) => `Querying task from [${uid}]. Stake: ${stake}`,
};

/** The miner's status line (every 30 s by default): it shows the miner alive. */
export const STATS = 'Miner | UID:226 | Block:4512345 | Stake:1.5 | Trust:0 | Incentive:0.01 | Emission:0.2';

/** Received at s, generating at s + 0.1 (the two copies of the prompt). */
export const start = (s: number, prompt: string): Line[] => [m(s, msg.received(prompt)), m(s + 0.1, msg.generating(prompt))];

/** A whole task on the miner's log: received, generating, completed, feedback (+ detail). */
export function acceptedTask(s: number, prompt: string, opts: { bytes?: number; uid?: number; score?: string; detail?: boolean } = {}): Line[] {
  const lines = [
    m(s, msg.received(prompt)),
    m(s + 0.1, msg.generating(prompt)),
    m(s + 20, msg.completed(opts.bytes ?? 1000)),
    m(s + 30, msg.feedback(opts.uid ?? 7, opts.score ?? '0.83', prompt)),
  ];
  if (opts.detail) lines.push(m(s + 30.001, msg.detail('0.71', '1523.4', 37, '0.0123')));
  return lines;
}

// ---- parsing ----

/**
 * Runs the lines through one real StreamParser per stream (in memory, time zone UTC) and returns the
 * events in the order given. A stream's open entry is flushed when the next line belongs to another
 * stream (its traceback lines must follow it directly), and all are flushed at the end.
 */
export function toEvents(lines: Line[], rules: CompiledRule[] = DEFAULT_RULES_COMPILED): LogEvent[] {
  const events: LogEvent[] = [];
  const parsers = new Map<StreamSpec, { parser: StreamParser; offset: number }>();
  const parserOf = (spec: StreamSpec) => {
    let p = parsers.get(spec);
    if (!p) {
      p = { parser: new StreamParser(spec, { rules, timeZone: 'UTC' }, (e) => events.push(e)), offset: 0 };
      parsers.set(spec, p);
    }
    return p;
  };
  lines.forEach(([spec, text], i) => {
    const p = parserOf(spec);
    const bytes = Buffer.from(text, 'utf8');
    p.parser.push(lineAt(spec, bytes, p.offset, p.offset + bytes.length + 1));
    p.offset += bytes.length + 1;
    const next = lines[i + 1];
    if (!next || next[0] !== spec) p.parser.flush();
  });
  for (const p of parsers.values()) p.parser.flush();
  return events;
}

// ---- the tracker ----

let hashersPromise: Promise<Hashers> | null = null;
/** BLAKE3 (WASM) once per test file. */
export function hashers(): Promise<Hashers> {
  hashersPromise ??= createHashers();
  return hashersPromise;
}

export interface TestTracker {
  tracker: Tracker;
  /** The images the tracker asked to store (sha256 of the decoded bytes, extension). */
  images: { sha256: string; bytes: number }[];
}

export const TEST_OPTIONS: TrackerOptions = {
  ...DEFAULT_TRACKER_OPTIONS,
  minerApp: 'miner-sn17-mainnet',
  host: 'test-host',
  collectorVersion: '0.0.0-test',
  feedbackTimeoutMs: 10 * 60 * 1000,
  taskTimeoutMs: 30 * 60 * 1000,
};

export async function makeTracker(over: Partial<TrackerOptions> = {}): Promise<TestTracker> {
  const images: TestTracker['images'] = [];
  const tracker = new Tracker({ ...TEST_OPTIONS, ...over }, await hashers(), (bytes, sha256) => {
    images.push({ sha256, bytes: bytes.length });
    return { path: `images/${sha256}.png` };
  });
  return { tracker, images };
}

/** Feeds events as `ingest` does: tick at the event's time, then push. */
export function feed(tracker: Tracker, events: LogEvent[]): void {
  for (const e of events) {
    tracker.tick(e.timeMs);
    tracker.push(e);
  }
}

export interface Run extends TestTracker {
  finished: FinishedRecord[];
  records: GenerationRecord[];
}

/** Lines -> events -> a fresh tracker; finishAll('input_ended') at the end unless `finish: false`. */
export async function run(
  lines: Line[],
  o: { options?: Partial<TrackerOptions>; rules?: CompiledRule[]; finish?: boolean; tickAfter?: number } = {},
): Promise<Run> {
  const t = await makeTracker(o.options);
  feed(t.tracker, toEvents(lines, o.rules));
  if (o.tickAfter !== undefined) t.tracker.tick(at(o.tickAfter));
  if (o.finish !== false) t.tracker.finishAll('input_ended');
  const finished = t.tracker.drainRecords();
  const records = finished.map((f) => f.record);
  for (const r of records) {
    const parsed = GenerationRecordSchema.safeParse(r);
    if (!parsed.success) throw new Error(`record breaks the schema: ${parsed.error.message}`);
  }
  return { ...t, finished, records };
}

/** The record of a prompt (exactly one). */
export function recordOf(records: GenerationRecord[], prompt: string): GenerationRecord {
  const found = records.filter((r) => r.task.prompt === prompt);
  if (found.length !== 1) throw new Error(`expected one record for ${JSON.stringify(prompt)}, got ${found.length}`);
  return found[0]!;
}

/** provenance.links as compact `event:link:candidates` strings. */
export const links = (r: GenerationRecord): string[] => r.provenance.links.map((l) => `${l.event}:${l.link}:${l.candidates}`);

// ---- output files ----

/** An output file as the output-dir source hands it on. */
export function outputFile(group: string, name: string, s: number, size: number, dir = `/srv/outputs/${group}`): OutputFile {
  return { dir, group, name, path: `${dir}/${name}`, size, mtimeMs: at(s), timeMs: at(s) };
}

// ---- images ----

/**
 * A real, small PNG (16x16 of deterministic noise: it does not compress, so its base64 is long enough
 * to be read as an image; the tracker takes prompts under 256 base64 characters for text).
 */
export function smallPng(seed = 0): Buffer {
  const size = 16;
  const rgba = Buffer.alloc(size * size * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i % 4 === 3 ? 255 : Math.imul(i + 1, 2654435761 + seed * 97) >>> 24) & 255;
  return encodePng({ width: size, height: size, rgba });
}

export { sha256Hex };
