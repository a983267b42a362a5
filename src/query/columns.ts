/**
 * One pass turns each record into a row of numbers (about 120 bytes), so no record object outlives its
 * line: that is what keeps memory flat. Strings that matter (host, error message samples) go into small
 * per-chunk tables. A chunk is built in a worker and sent back as views of one transferable buffer.
 */
// the constants alone, not the zod schemas: this runs in the scan's worker threads
import { DUEL_WINNERS, ERROR_TYPES, OUTCOMES, TASK_TYPES } from '../schema/constants';
import type { GenerationRecord } from '../schema';

export const F_RECEIVED = 1;
export const F_SUBMITTED = 2;
export const F_FAILED = 4;
export const F_INFERRED = 8;
export const F_PRE_REJECTED = 16;
/** The line is in the spec's own schema: its outcome was derived (src/schema/spec-record.ts). */
export const F_SPEC = 32;
/** An event that could have been this record's went to another by best fit (an `*_ambiguous` incomplete reason). */
export const F_AMBIGUOUS = 64;

/** Distinct error messages kept per chunk as samples; past this a message is not kept (its count still is). */
const MAX_MESSAGES = 4096;

export interface Chunk {
  n: number;
  /** 64-bit hash of generation_id, in two halves. */
  idHi: Uint32Array;
  idLo: Uint32Array;
  rev: Uint32Array;
  /** Index of the record's line within its unit (export reads the unit again and picks these lines). */
  line: Uint32Array;
  ts: Float64Array; // metadata.timestamp, ms
  task: Uint8Array; // 0 null, 1 + index in TASK_TYPES
  outcome: Uint8Array; // index in OUTCOMES
  flags: Uint8Array; // F_*
  errType: Uint8Array; // 0 none, 1 + index in ERROR_TYPES
  errMsg: Int32Array; // index in messages, -1 none
  validator: Int32Array; // -1 null
  host: Uint16Array; // index in hosts
  score: Float64Array; // NaN = null
  clip: Float64Array;
  clipThr: Float64Array;
  delay: Float64Array;
  /** Competition mode: competition.round (-1 none), 1 + index in `competitions` (0 none), the duel (-1 none, else DUEL_CODE), the judge's issues (index in `issues`, -1 none). */
  round: Int32Array;
  comp: Uint16Array;
  duel: Int8Array;
  issue: Int32Array;
  /** generation.timing: one column per stage seen (NaN where a record lacks it). */
  stages: Record<string, Float64Array>;
  /** The stages' names in the order their columns lie in the chunk's buffer (an object's keys may not keep it). */
  stageNames: string[];
  hosts: string[];
  messages: string[];
  competitions: string[];
  /** The judges' issues texts, ids replaced (normaliseIssues). */
  issues: string[];
  /** Ids named in some record's provenance.supersedes, as [hi, lo] pairs. */
  superseded: number[];
}

/** A 64-bit hash of an id as two 32-bit lanes (FNV-1a and a murmur-style mix): see docs/analysis.md. */
export function hashId(id: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [a >>> 0, (b ^ (b >>> 13)) >>> 0];
}

type Cols = Omit<Chunk, 'n' | 'stages' | 'hosts' | 'messages' | 'competitions' | 'issues' | 'superseded'>;
const COLUMN_TYPES = {
  idHi: Uint32Array,
  idLo: Uint32Array,
  rev: Uint32Array,
  line: Uint32Array,
  ts: Float64Array,
  task: Uint8Array,
  outcome: Uint8Array,
  flags: Uint8Array,
  errType: Uint8Array,
  errMsg: Int32Array,
  validator: Int32Array,
  host: Uint16Array,
  score: Float64Array,
  clip: Float64Array,
  clipThr: Float64Array,
  delay: Float64Array,
  round: Int32Array,
  comp: Uint16Array,
  duel: Int8Array,
  issue: Int32Array,
} as const;
/** A column every chunk has. */
export type ColName = keyof typeof COLUMN_TYPES;
type TypedArrayType = (typeof COLUMN_TYPES)[ColName];
const align8 = (bytes: number): number => (bytes + 7) & ~7;
const COL_NAMES = Object.keys(COLUMN_TYPES) as ColName[];

const TASK_CODE = new Map<string, number>(TASK_TYPES.map((t, i) => [t, i + 1]));
const OUTCOME_CODE = new Map<string, number>(OUTCOMES.map((o, i) => [o, i]));
const ERROR_CODE = new Map<string, number>(ERROR_TYPES.map((e, i) => [e, i + 1]));
/** competition.duel.winner as a code: the index in DUEL_WINNERS (miner 0, opponent 1, draw 2). */
const DUEL_CODE = new Map<string, number>(DUEL_WINNERS.map((w, i) => [w, i]));

/**
 * A judge's text with what differs per prompt taken out (a prompt id, an output URL), so the same
 * complaint about two prompts counts as one: `No preview for <id> from right`.
 */
export function normaliseIssues(text: string): string {
  return text
    .replace(/https?:\/\/\S+/g, '<url>')
    .replace(/\b[0-9a-f]{64}\b/g, '<id>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<id>')
    .replace(/\s+/g, ' ')
    .trim();
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : NaN;
}

/** Thrown for a line that is JSON but not a generation record we can count. */
export class NotARecord extends Error {}

/**
 * The first field of our shape that `add` needs and `v` lacks (the same checks, in the same order), for
 * the report of a line that is no record; null when it has them all. Off the hot path: called only for
 * lines `add` refused.
 */
export function ownShapeMissing(v: unknown): string | null {
  const r = v as Partial<GenerationRecord> | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return '(root)';
  const m = r.metadata;
  if (typeof m !== 'object' || m === null) return 'metadata';
  if (typeof m.generation_id !== 'string') return 'metadata.generation_id';
  if (typeof m.timestamp !== 'string' || Number.isNaN(Date.parse(m.timestamp))) return 'metadata.timestamp';
  if (!OUTCOME_CODE.has(r.outcome as string)) return 'outcome';
  if (typeof r.provenance !== 'object' || r.provenance === null) return 'provenance';
  if (typeof r.provenance.revision !== 'number') return 'provenance.revision';
  return null;
}

/**
 * Rows of one chunk at a time. Its columns grow by doubling and are kept for the next chunk: `finish()`
 * copies the rows into one buffer of `bytesNeeded()` and starts again, so a worker scanning many units
 * allocates nothing per chunk. The main thread allocates that buffer (see dataset.ts): what a thread
 * allocates stays in its own malloc arena, and glibc does not give a dead worker's arena back, so
 * chunks allocated by the workers kept 30-40 MB of their garbage resident to the end.
 */
export class ChunkBuilder {
  private cap = 1024;
  private n = 0;
  private cols: Cols;
  private stages: Record<string, Float64Array> = {};
  /** The stages that have a value in this unit (a kept column of an earlier unit's stage may be all NaN). */
  private stagesSeen = new Set<string>();
  private hosts: string[] = [];
  private hostIdx = new Map<string, number>();
  private messages: string[] = [];
  private msgIdx = new Map<string, number>();
  private competitions: string[] = [];
  private issues: string[] = [];
  private issueIdx = new Map<string, number>();
  private superseded: number[] = [];

  constructor() {
    this.cols = {} as Cols;
    for (const k of COL_NAMES) (this.cols as unknown as Record<string, unknown>)[k] = new COLUMN_TYPES[k](this.cap);
  }

  private grow(): void {
    this.cap *= 2;
    const c = this.cols as unknown as Record<string, Float64Array>;
    for (const k of COL_NAMES) {
      const next = new COLUMN_TYPES[k](this.cap) as unknown as Float64Array;
      next.set(c[k]!);
      c[k] = next;
    }
    for (const [k, col] of Object.entries(this.stages)) {
      const next = new Float64Array(this.cap).fill(NaN);
      next.set(col);
      this.stages[k] = next;
    }
  }

  /** Adds a parsed line; throws NotARecord when the fields every count relies on are missing. */
  add(r: GenerationRecord, line: number): void {
    const m = r?.metadata;
    const p = r?.provenance;
    const outcome = OUTCOME_CODE.get(r?.outcome as string);
    const ts = typeof m?.timestamp === 'string' ? Date.parse(m.timestamp) : NaN;
    if (!m || typeof m.generation_id !== 'string' || outcome === undefined || !p || typeof p.revision !== 'number' || Number.isNaN(ts))
      throw new NotARecord('not a generation record');
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    const c = this.cols;
    const [hi, lo] = hashId(m.generation_id);
    c.idHi[i] = hi;
    c.idLo[i] = lo;
    c.rev[i] = p.revision;
    c.line[i] = line;
    c.ts[i] = ts;
    c.task[i] = TASK_CODE.get(r.task?.task_type as string) ?? 0;
    c.outcome[i] = outcome;
    const g = r.generation;
    const fb = r.validator_feedback;
    const fa = r.failure_analysis;
    c.flags[i] =
      (fb?.received === true ? F_RECEIVED : 0) |
      (g?.submission?.submitted === true ? F_SUBMITTED : 0) |
      (fa?.failed === true ? F_FAILED : 0) |
      (Array.isArray(p.links) && p.links.some((l) => l.link === 'inferred') ? F_INFERRED : 0) |
      (Array.isArray(p.incomplete_reasons) && p.incomplete_reasons.some((x) => typeof x === 'string' && x.endsWith('_ambiguous')) ? F_AMBIGUOUS : 0) |
      (g?.submission?.pre_submission_rejection === true ? F_PRE_REJECTED : 0);
    c.errType[i] = ERROR_CODE.get(fa?.error_type as string) ?? 0;
    c.errMsg[i] = this.message(fa?.error_message);
    c.validator[i] = typeof m.validator_uid === 'number' ? m.validator_uid : -1;
    c.host[i] = this.hostIndex(typeof m.host === 'string' ? m.host : '');
    c.score[i] = num(fb?.score);
    c.clip[i] = num(g?.output?.quality_metrics?.clip_score);
    c.clipThr[i] = num(r.miner_config?.clip_threshold);
    c.delay[i] = num(fb?.feedback_delay_seconds);
    const comp = r.competition;
    if (comp && typeof comp === 'object') {
      c.round[i] = typeof comp.round === 'number' ? comp.round : -1;
      c.comp[i] = this.competitionIndex(typeof comp.name === 'string' ? comp.name : '') + 1;
      c.duel[i] = DUEL_CODE.get(comp.duel?.winner as string) ?? -1;
      c.issue[i] = typeof comp.duel?.issues === 'string' ? this.issueIndex(comp.duel.issues) : -1;
    } else {
      c.round[i] = -1;
      c.comp[i] = 0;
      c.duel[i] = -1;
      c.issue[i] = -1;
    }
    const timing = g?.timing;
    if (timing)
      for (const k in timing) {
        const v = timing[k];
        if (typeof v !== 'number') continue;
        let col = this.stages[k];
        if (!col) col = this.stages[k] = new Float64Array(this.cap).fill(NaN);
        col[i] = v;
        this.stagesSeen.add(k);
      }
    if (Array.isArray(p.supersedes)) for (const id of p.supersedes) this.superseded.push(...hashId(id));
  }

  /** Adds a record read from the spec's schema (already converted), flagged F_SPEC. */
  addSpec(r: GenerationRecord, line: number): void {
    this.add(r, line);
    this.cols.flags[this.n - 1]! |= F_SPEC;
  }

  private hostIndex(h: string): number {
    let k = this.hostIdx.get(h);
    if (k === undefined) {
      k = this.hosts.length;
      this.hosts.push(h);
      this.hostIdx.set(h, k);
    }
    return k;
  }

  private competitionIndex(name: string): number {
    let k = this.competitions.indexOf(name);
    if (k === -1) k = this.competitions.push(name) - 1;
    return k;
  }

  private issueIndex(text: string): number {
    const key = normaliseIssues(text);
    let k = this.issueIdx.get(key);
    if (k === undefined) {
      if (this.issues.length >= MAX_MESSAGES) return -1;
      k = this.issues.push(key) - 1;
      this.issueIdx.set(key, k);
    }
    return k;
  }

  private message(msg: unknown): number {
    if (typeof msg !== 'string') return -1;
    let k = this.msgIdx.get(msg);
    if (k === undefined) {
      if (this.messages.length >= MAX_MESSAGES) return -1;
      k = this.messages.length;
      this.messages.push(msg);
      this.msgIdx.set(msg, k);
    }
    return k;
  }

  /** The bytes of this unit's columns (chunkBytes). */
  /** Rows added since the last `finish()`. */
  get rows(): number {
    return this.n;
  }

  bytesNeeded(): number {
    return chunkBytes(this.n, this.stagesSeen.size);
  }

  /** The rows added since the last `finish()` as a chunk whose columns are views of `into` (at least `bytesNeeded()` long, from its start); the builder is empty again. */
  finish(into: ArrayBuffer): Chunk {
    if (into.byteLength < this.bytesNeeded()) throw new Error(`a chunk of ${this.n} rows needs ${this.bytesNeeded()} bytes, not ${into.byteLength}`);
    const n = this.n;
    const out = chunkOver({ n, hosts: this.hosts, messages: this.messages, competitions: this.competitions, issues: this.issues, superseded: this.superseded, stageNames: [...this.stagesSeen] }, into, 0);
    const c = this.cols as unknown as Record<string, Float64Array>;
    const views = out as unknown as Record<string, Float64Array>;
    for (const k of COL_NAMES) views[k]!.set(c[k]!.subarray(0, n));
    for (const k of this.stagesSeen) out.stages[k]!.set(this.stages[k]!.subarray(0, n));
    this.clear();
    return out;
  }

  /** Drops the rows added since the last `finish()` (a unit that failed half-way), keeping the columns. */
  clear(): void {
    for (const col of Object.values(this.stages)) col.fill(NaN, 0, this.n);
    this.n = 0;
    this.stagesSeen.clear();
    this.hosts = [];
    this.hostIdx.clear();
    this.messages = [];
    this.msgIdx.clear();
    this.competitions = [];
    this.issues = [];
    this.issueIdx.clear();
    this.superseded = [];
  }
}

/** A chunk but for its columns: what lays them over their bytes again (chunkOver). */
export type ChunkMeta = Pick<Chunk, 'n' | 'hosts' | 'messages' | 'competitions' | 'issues' | 'superseded' | 'stageNames'>;

/** The bytes of a chunk's columns laid out one after another, each at a multiple of 8, its stages last. */
export function chunkBytes(n: number, stages: number): number {
  let bytes = 0;
  for (const k of COL_NAMES) bytes += align8(n * COLUMN_TYPES[k].BYTES_PER_ELEMENT);
  return bytes + stages * align8(n * 8);
}

/** A column of a chunk: one every chunk has, or a timing stage's (which a chunk may lack). */
export type ColumnRef = { col: ColName } | { stage: string };

/** Each of a chunk's columns where it lies among the chunk's bytes, in ChunkBuilder's layout (chunkBytes). */
function* layout(meta: ChunkMeta): Generator<{ ref: ColumnRef; at: number; type: TypedArrayType }> {
  let at = 0;
  const place = (type: TypedArrayType): number => {
    const here = at;
    at += align8(meta.n * type.BYTES_PER_ELEMENT);
    return here;
  };
  for (const col of COL_NAMES) yield { ref: { col }, at: place(COLUMN_TYPES[col]), type: COLUMN_TYPES[col] };
  for (const stage of meta.stageNames) yield { ref: { stage }, at: place(Float64Array), type: Float64Array };
}

/** A chunk whose columns are views of `buffer` from byte `at` on (chunkBytes long). */
export function chunkOver(meta: ChunkMeta, buffer: ArrayBuffer, at: number): Chunk {
  const out = { ...meta, stages: {} } as unknown as Chunk;
  for (const { ref, at: offset, type } of layout(meta)) {
    const view = new type(buffer, at + offset, meta.n) as Float64Array;
    if ('col' in ref) (out as unknown as Record<string, unknown>)[ref.col] = view;
    else out.stages[ref.stage] = view;
  }
  return out;
}

/** Where column `ref` lies among a chunk's bytes, and its type; null: the chunk has no such stage. */
export function columnRange(meta: ChunkMeta, ref: ColumnRef): { at: number; bytes: number; type: TypedArrayType } | null {
  for (const c of layout(meta))
    if ('col' in ref ? 'col' in c.ref && c.ref.col === ref.col : 'stage' in c.ref && c.ref.stage === ref.stage) return { at: c.at, bytes: meta.n * c.type.BYTES_PER_ELEMENT, type: c.type };
  return null;
}

/** What chunkOver needs of `c` besides its bytes. */
export function metaOf(c: Chunk): ChunkMeta {
  return { n: c.n, hosts: c.hosts, messages: c.messages, competitions: c.competitions, issues: c.issues, superseded: c.superseded, stageNames: c.stageNames };
}

/** The bytes of `c`'s columns: the one buffer ChunkBuilder.finish laid them over. */
export function bytesOf(c: Chunk): Uint8Array {
  return new Uint8Array(c.idHi.buffer, c.idHi.byteOffset, chunkBytes(c.n, c.stageNames.length));
}

/** The chunk's one buffer, for postMessage's transfer list. */
export function transferables(chunk: Chunk): ArrayBuffer[] {
  return [bytesOf(chunk).buffer as ArrayBuffer];
}
