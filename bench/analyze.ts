/**
 * `analyze --summary` over N synthetic records (valid per the schema, ~1.5 KB each, in monthly files,
 * a gzip archive and the live file) against jq computing the same summary over the same files in the
 * same run. Both run as child processes under /usr/bin/time for wall time and peak RSS.
 * `--spec`: the records in the spec's schema instead (what the spec's own logger wrote: no `outcome`, no
 * `provenance`; analyze derives the outcome), and jq derives it the same way.
 * Run: node dist/bench/analyze.js [--records N] [--spec] [--keep DIR]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { emptyRecord, ERROR_TYPES, type GenerationRecord } from '../src/schema';
import { parseRecordLine } from '../src/schema/serialize';
import { fromSpecRecord } from '../src/schema/spec-record';
import { printRows, timedProcess as timed, type BenchRow } from './report';

/** A small deterministic PRNG so every run writes the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s ^= s >>> 12;
    return (s >>> 0) / 4294967296;
  };
}

const hex = (r: () => number, n: number): string => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;
const NOUNS = ['chair', 'lamp', 'dragon', 'teapot', 'robot', 'sword', 'castle', 'mushroom', 'car', 'boot'];
const ADJ = ['red wooden', 'glass', 'rusty metal', 'golden', 'low-poly', 'fluffy', 'ancient stone', 'neon'];

/** One realistic record: the mix of outcomes, task types and timings a mainnet miner sees. */
export function syntheticRecord(i: number, r: () => number, tsMs: number): GenerationRecord {
  const id = `${hex(r, 8)}-${hex(r, 4)}-5${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
  const rec = emptyRecord({ generation_id: id, timestamp: new Date(tsMs).toISOString(), host: `gpu-box-${1 + (i % 3)}`, miner_app: 'miner-sn17-mainnet', collector_version: '0.1.0' });
  const image = r() < 0.89;
  const m = rec.metadata;
  m.miner_uid = 226;
  m.miner_version = 'phase1_phase2_v1.0';
  m.network = 'mainnet';
  m.validator_uid = [27, 49, 57, 128, 142, 212][Math.floor(r() * 6)]!;
  const t = rec.task;
  t.task_type = image ? 'IMAGE-TO-3D' : 'TEXT-TO-3D';
  t.is_base64_image = image;
  const h = hex(r, 64);
  if (image) {
    t.prompt = `[BASE64_IMAGE_HASH:sha256:${h}]`;
    t.prompt_length = 400000 + Math.floor(r() * 300000);
    t.base64_image_hash = `sha256:${h}`;
    t.image_file_path = `images/${h}.png`;
    t.log_id = `image:${h.slice(0, 32)}${hex(r, 32)}`;
  } else {
    t.prompt = `a ${ADJ[i % ADJ.length]} ${NOUNS[i % NOUNS.length]} on a plain background, highly detailed`;
    t.prompt_length = t.prompt.length;
    t.log_id = t.prompt;
  }
  Object.assign(rec.miner_config, { trellis_sparse_steps: 45, trellis_slat_steps: 35, gaussian_threshold: 50000, clip_threshold: 0.1 });
  const g = rec.generation;
  if (!image) {
    g.enhanced_prompt = `${t.prompt}, studio lighting, 3d render, white background`;
    g.negative_prompt = 'blurry, low quality, multiple objects';
  }
  const trellis = round(8 + r() * 10, 2);
  const bg = round(1 + r(), 2);
  const sdxl = image ? null : round(6 + r() * 4, 2);
  g.timing = { total_time: round(trellis + bg + (sdxl ?? 0) + 0.5, 2), sdxl_time: sdxl, background_removal_time: bg, trellis_time: trellis, saving_time: round(r() * 0.1, 3) };
  const clip = round(0.05 + r() * 0.3, 3);
  const u = r();
  const failed = u < 0.05;
  const pre = !failed && clip < 0.1;
  g.submission.submission_time = new Date(tsMs + g.timing.total_time! * 1000).toISOString();
  g.submission.pre_submission_rejection = pre;
  if (failed || pre) {
    rec.outcome = 'generation_failed';
    const type = pre ? 'pre_submission_rejection' : ERROR_TYPES[Math.floor(r() * 4)]!;
    rec.failure_analysis = { failed: true, error_type: type, error_message: pre ? 'clip_below_threshold' : 'Generation failed with code: 500', stack_trace: null };
    if (pre) g.submission.rejection_reason = 'clip_below_threshold';
  } else {
    const o = g.output;
    const size = 20_000_000 + Math.floor(r() * 20_000_000);
    o.num_gaussians = Math.floor(size / 62);
    o.file_size_bytes = size;
    o.file_size_mb = round(size / 1048576, 2);
    o.ply_file_hash = `sha256:${hex(r, 64)}`;
    o.quality_metrics = { clip_score: clip, clip_threshold_pass: true, clip_model: 'ViT-L/14' };
    o.gaussian_stats = { opacity_mean: round(4 + r(), 2) };
  }
  if (!failed && r() > 0.04) {
    const fb = rec.validator_feedback;
    const score = r() < 0.45 ? round(0.6 + r() * 0.4, 3) : 0;
    g.submission.submitted = true;
    fb.received = true;
    fb.score = pre ? 0 : score;
    fb.accepted = fb.score > 0;
    fb.feedback_delay_seconds = round(30 + r() * 90, 1);
    fb.feedback_time = new Date(tsMs + (g.timing.total_time! + fb.feedback_delay_seconds) * 1000).toISOString();
    fb.average_score = round(0.5 + r() * 0.2, 3);
    if (!pre) rec.outcome = fb.accepted ? 'accepted' : 'rejected';
    if (fb.accepted && !pre) g.output.ply_file_path = `ply_files/${id}_${g.output.ply_file_hash!.slice(7)}.ply`;
  } else if (!failed && !pre) rec.outcome = 'no_feedback';
  const log = '/root/.pm2/logs/miner-out.log';
  rec.provenance.sources = [
    { event: 'task_received', file: log, offset: i * 4096 },
    { event: 'feedback', file: log, offset: i * 4096 + 2600 },
  ];
  rec.provenance.links = [{ event: 'generation_completed', link: r() < 0.1 ? 'inferred' : 'exact', candidates: 1 }];
  return rec;
}

/** One record as the spec's logger wrote it: ours without `outcome` and `provenance`. */
function asSpecRecord(rec: GenerationRecord): object {
  const { outcome: _o, provenance: _p, ...spec } = rec;
  return spec;
}

/** Writes N records: 10 % in a gzip archive, the rest in monthly files and the live file. Returns bytes. */
export function generate(dir: string, n: number, spec = false): number {
  fs.mkdirSync(path.join(dir, 'archive'), { recursive: true });
  const r = rng(17);
  const start = Date.UTC(2025, 0, 1);
  const span = Date.UTC(2025, 10, 20) - start;
  const files = 12;
  let bytes = 0;
  for (let f = 0; f < files; f++) {
    const from = Math.floor((n * f) / files);
    const to = Math.floor((n * (f + 1)) / files);
    const parts: string[] = [];
    for (let i = from; i < to; i++) {
      const rec = syntheticRecord(i, r, start + Math.floor((span * i) / n));
      const line = JSON.stringify(spec ? asSpecRecord(rec) : rec);
      if (i % 10007 === 0) {
        const bad = spec ? (fromSpecRecord(JSON.parse(line)) as { notRecord?: string }).notRecord : ((p) => (p.ok ? undefined : p.error))(parseRecordLine(line));
        if (bad) throw new Error(`generated an invalid record: ${bad}`);
      }
      parts.push(line, '\n');
    }
    const text = parts.join('');
    bytes += Buffer.byteLength(text);
    const month = String(f + 1).padStart(2, '0');
    if (f === 0) fs.writeFileSync(path.join(dir, 'archive', `generation_history_2025-${month}.jsonl.gz`), zlib.gzipSync(text, { level: 1 }));
    else if (f === files - 1) fs.writeFileSync(path.join(dir, 'generation_history.jsonl'), text);
    else fs.writeFileSync(path.join(dir, `generation_history_2025-${month}.jsonl`), text);
  }
  return bytes;
}

/**
 * The same summary in jq: one streaming jq picks the fields of each record (this is where jq spends its
 * time: parsing), a second one (jq -s over the small rows) counts and sorts. The two run concurrently.
 */
/** specOutcome (src/schema/spec-record.ts) in jq: the outcome of a record in the spec's schema. */
const JQ_SPEC_OUTCOME = `def outcome:
  .validator_feedback as $fb | .failure_analysis as $fa | .generation.submission as $sub
  | (if ($fb.accepted | type) == "boolean" then $fb.accepted elif ($fb.score | type) == "number" then $fb.score > 0 else null end) as $v
  | (if $fa.failed == true then $fa.error_type else null end) as $t
  | ((($fa.failed == true) and ($t == null or ([$t] | inside(["submit_failed", "validation_failed", "miner_restarted"]) | not))) or $sub.pre_submission_rejection == true) as $g
  | if $fb.received == true then (if $g and $v != true then "generation_failed" elif $v == true then "accepted" elif $v == false then "rejected" else "validation_failed" end)
    elif $t == "miner_restarted" then "interrupted" elif $g then "generation_failed"
    elif $sub.submitted == false or $t == "submit_failed" then "submit_failed" elif $t == "validation_failed" then "validation_failed" else "no_feedback" end;
`;
const JQ_PICK = `[.outcome, .validator_feedback.received, (.task.task_type // "unknown"), .validator_feedback.score,
  .generation.output.quality_metrics.clip_score, (.generation.timing | with_entries(select(.value | type == "number"))),
  .generation.submission.submitted, .failure_analysis.failed, .generation.submission.pre_submission_rejection,
  any(.provenance.links[]?; .link == "inferred"), .metadata.timestamp]`;
const JQ_SUMMARY = `
def pct($s; $p): if ($s|length) == 0 then null else $s[([((($p/100) * ($s|length)) | ceil) - 1, 0] | max)] end;
def dist: sort as $s | {n: ($s|length), mean: (if ($s|length) > 0 then ($s | add / length) else null end), min: $s[0], p50: pct($s; 50), p90: pct($s; 90), p99: pct($s; 99), max: $s[-1]};
def counts: {records: length, feedback_received: map(select(.[1])) | length, accepted: map(select(.[0] == "accepted")) | length}
  | .acceptance_rate = (if .feedback_received > 0 then .accepted / .feedback_received else null end);
. as $all | ($all | length) as $n
| (counts) + {
  by_outcome: (group_by(.[0]) | map({key: .[0][0], value: length}) | from_entries),
  by_task_type: (group_by(.[2]) | map({task_type: .[0][2]} + counts)),
  score: (map(.[3] | select(. != null)) | dist),
  clip_score: (map(.[4] | select(. != null)) | dist),
  generation_time: ([.[][5] | to_entries[]] | group_by(.key) | map({key: .[0].key, value: (map(.value) | dist)}) | from_entries),
  submitted: (map(select(.[6] == true)) | length), failed: (map(select(.[7] == true)) | length),
  pre_submission_rejections: (map(select(.[8] == true)) | length), inferred_attribution: (map(select(.[9])) | length),
  first_record: (map(.[10]) | min), last_record: (map(.[10]) | max)}
| .submission_rate = .submitted / $n | .failure_rate = .failed / $n
`;

/** The uncompressed bytes of a kept data dir: its .jsonl files and its archive's .jsonl.gz, streamed. */
async function keptBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.jsonl')) bytes += fs.statSync(path.join(dir, f)).size;
  const archive = path.join(dir, 'archive');
  for (const f of fs.existsSync(archive) ? fs.readdirSync(archive) : [])
    if (f.endsWith('.jsonl.gz')) for await (const chunk of fs.createReadStream(path.join(archive, f)).pipe(zlib.createGunzip())) bytes += (chunk as Buffer).length;
  return bytes;
}

export async function benchAnalyze(records = 1_000_000, keepDir?: string, spec = false): Promise<BenchRow[]> {
  const dir = keepDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-analyze-'));
  const bytes = fs.existsSync(path.join(dir, 'generation_history.jsonl')) ? await keptBytes(dir) : generate(dir, records, spec);
  const main = path.join(__dirname, '..', 'src', 'cli', 'main.js');
  const ours = timed(process.execPath, [main, 'analyze', '--summary', '--json', '--data-dir', dir]);
  const files = [path.join(dir, 'archive'), dir].flatMap((d) => fs.readdirSync(d).filter((f) => /^generation_history(_\d{4}-\d{2})?\.jsonl(\.gz)?$/.test(f)).sort().map((f) => path.join(d, f)));
  const q = (t: string): string => `'${t.replace(/'/g, `'\\''`)}'`;
  const pick = spec ? `${JQ_SPEC_OUTCOME}${JQ_PICK.replace('[.outcome,', '[outcome,')}` : JQ_PICK;
  const jq = timed('sh', ['-c', `zcat -f ${files.map(q).join(' ')} | jq -c ${q(pick)} | jq -s -c ${q(JQ_SUMMARY)}`]);
  const a = JSON.parse(ours.stdout).summary;
  const b = JSON.parse(jq.stdout);
  // the same figures, or the comparison means nothing
  for (const [k, x, y] of [['records', a.records, b.records], ['accepted', a.accepted, b.accepted], ['score p90', a.score.p90, b.score.p90], ['total_time p99', a.generation_time.total_time.p99, b.generation_time.total_time.p99], ['inferred', a.inferred_attribution, b.inferred_attribution]] as const)
    if (x !== y) throw new Error(`analyze and jq disagree on ${k}: ${x} vs ${y}`);
  if (!keepDir) fs.rmSync(dir, { recursive: true, force: true });
  const rate = records / ours.secs;
  const jqRate = records / jq.secs;
  return [
    { name: `analyze --summary, ${records.toLocaleString('en-US')} records${spec ? " in the spec's schema" : ''} (${(bytes / 1048576).toFixed(0)} MiB)`, value: rate, unit: 'records/s', baseline: jqRate, ratio: rate / jqRate },
    { name: 'analyze --summary, wall time', value: ours.secs, unit: 's', baseline: jq.secs, ratio: ours.secs / jq.secs },
    { name: 'analyze --summary, peak RSS (the process, its worker thread included)', value: ours.rssMb, unit: 'MiB', baseline: jq.rssMb, ratio: ours.rssMb / jq.rssMb },
  ];
}

if (require.main === module) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  benchAnalyze(Number(arg('--records') ?? 1_000_000), arg('--keep'), process.argv.includes('--spec')).then(
    (rows) => printRows('Analyze (--summary against jq, same files)', rows),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
