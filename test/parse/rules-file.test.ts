/** Operators' rules files: validation messages, overriding, and the custom worker example (examples/rules.custom-worker.json). */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileRules, DEFAULT_RULES } from '../../src/parse';
import { superLinear } from '../../src/parse/rules';
import { CollectorError } from '../../src/common/errors';
import { bt, one, parseLines, WORKER } from './helpers';

const load = (file: unknown) => compileRules(DEFAULT_RULES, file, 'rules.json');
const problem = (file: unknown): string => {
  try {
    load(file);
  } catch (err) {
    expect(err).toBeInstanceOf(CollectorError);
    expect((err as CollectorError).code).toBe('CONFIG_INVALID');
    return (err as Error).message;
  }
  throw new Error('no error');
};
const rule = (r: object) => ({ rules: [{ name: 'r1', event: 'x', prefix: 'X', pattern: '^X(?<n>\\d+)$', ...r }] });

describe('validation errors name the rule and the problem', () => {
  test.each([
    [rule({ pattern: '^X(' }), /rule "r1" \(#1\): pattern: invalid regular expression/],
    [rule({ set: { 'metadata.miner_uid': '$n' } }), /rule "r1" \(#1\): set\.metadata\.miner_uid: cannot set metadata\.miner_uid/],
    [rule({ set: { 'generation.timing.x_time': '$m' } }), /rule "r1" \(#1\): set\.generation\.timing\.x_time: \$m: no group named m/],
    [rule({ types: { m: 'int' } }), /rule "r1" \(#1\): types\.m: no group named m/],
    [rule({ types: { n: 'integer' } }), /rule "r1" \(#1\): types\.n: /],
    [rule({ source: 'validator' }), /rule "r1" \(#1\): source: /],
    [rule({ levels: ['LOUD'] }), /rule "r1" \(#1\): levels\.0: /],
    [rule({ event: 'Bad Name' }), /rule "r1" \(#1\): event: /],
    [rule({ colour: 'red' }), /rule "r1" \(#1\): .*colour/],
    [rule({ secret: true }), /rule "r1" \(#1\): secret: a secret rule cannot capture groups/],
    [rule({ long: { field: 'p', end: '\\.$' } }), /rule "r1" \(#1\): a rule has a pattern or a long field, not both/],
    [{ rules: [{ event: 'x', prefix: 'X' }] }, /rule #1: name: /],
    [{ rules: [{ name: 'a', event: 'x', prefix: 'X' }, { name: 'a', event: 'y', prefix: 'Y' }] }, /rule "a" \(#2\): name: duplicate rule name a/],
    [{ rule: [] }, /invalid rules\.json: .*rules/],
  ])('%j', (file, message) => {
    expect(problem(file)).toMatch(message);
  });
});

test('a file rule with a default rule\'s name replaces it; extendDefaults: false drops the defaults', () => {
  const rules = load({ rules: [{ name: 'generation_completed', source: 'miner', event: 'done', prefix: 'Generation completed. Size: ', pattern: '^Generation completed\\. Size: (?<size>\\d+)$', types: { size: 'int' } }] });
  expect(one(bt('Generation completed. Size: 7'), undefined, rules)).toMatchObject({ type: 'done', fields: { size: 7 } });
  expect(rules).toHaveLength(DEFAULT_RULES.length);
  const only = load({ extendDefaults: false, rules: [{ name: 'a', event: 'a', prefix: 'Task' }] });
  expect(one(bt('Task received. Prompt: x.'), undefined, only).type).toBe('a');
});

describe('the custom worker example', () => {
  const file = JSON.parse(fs.readFileSync(path.join(__dirname, '../../examples/rules.custom-worker.json'), 'utf8')) as unknown;
  // the reference's example worker log (shared/reference/upstream-miner-logs.md, last section)
  const LOG = `2025-11-12 21:30:45.201 | INFO     | serve:generate:88 - Request received: text prompt (34 chars)
2025-11-12 21:30:46.010 | INFO     | enhance:run:41 - Enhanced prompt: "a red wooden chair, studio lighting, 3d render, white background"
2025-11-12 21:30:46.011 | DEBUG    | enhance:run:42 - Negative prompt: "blurry, low quality, multiple objects"
2025-11-12 21:30:54.630 | INFO     | pipeline:sdxl:120 - SDXL-Turbo done in 8.62s (4 steps)
2025-11-12 21:30:56.212 | INFO     | pipeline:rembg:141 - Background removal done in 1.58s (BiRefNet)
2025-11-12 21:31:08.361 | INFO     | pipeline:trellis:177 - TRELLIS done in 12.15s (sparse_steps=45, slat_steps=35)
2025-11-12 21:31:08.402 | INFO     | pipeline:trellis:183 - Gaussians: 398234, PLY 35.31 MB -> /srv/outputs/gen_1731447068_7f3a.ply
2025-11-12 21:31:08.655 | INFO     | validate:clip:60 - CLIP score 0.189 (threshold 0.10): PASS
2025-11-12 21:31:08.656 | SUCCESS  | serve:generate:131 - Total 21.45s
2025-11-12 21:33:02.017 | INFO     | serve:generate:88 - Request received: image prompt (547204 chars base64)
2025-11-12 21:33:03.540 | INFO     | pipeline:rembg:141 - Background removal done in 1.52s (BiRefNet)
2025-11-12 21:33:15.101 | INFO     | pipeline:trellis:177 - TRELLIS done in 11.56s (sparse_steps=45, slat_steps=35)
2025-11-12 21:33:15.140 | INFO     | pipeline:trellis:183 - Gaussians: 41877, PLY 3.71 MB -> /srv/outputs/gen_1731447195_02bc.ply
2025-11-12 21:33:15.388 | WARNING  | validate:clip:60 - CLIP score 0.071 (threshold 0.10): FAIL, not submitting
2025-11-12 21:33:15.389 | WARNING  | serve:generate:127 - Rejected before submission: clip_below_threshold`.split('\n');

  test('every figure lands in its set path, with its type', () => {
    const rules = compileRules(DEFAULT_RULES, file, 'examples/rules.custom-worker.json');
    const { events, parser } = parseLines(LOG, WORKER, rules);
    expect(parser.stats.unmatched).toBe(0);
    expect(events).toHaveLength(LOG.length);
    expect(events.map((e) => [e.rule, e.set])).toEqual([
      ['cw_request', {}],
      ['cw_enhanced_prompt', { 'generation.enhanced_prompt': 'a red wooden chair, studio lighting, 3d render, white background' }],
      ['cw_negative_prompt', { 'generation.negative_prompt': 'blurry, low quality, multiple objects' }],
      ['cw_sdxl', { 'generation.timing.sdxl_time': 8.62, 'miner_config.sdxl_steps': 4 }],
      ['cw_background_removal', { 'generation.timing.background_removal_time': 1.58, 'miner_config.background_removal_model': 'BiRefNet' }],
      ['cw_trellis', { 'generation.timing.trellis_time': 12.15, 'miner_config.trellis_sparse_steps': 45, 'miner_config.trellis_slat_steps': 35 }],
      ['cw_gaussians', { 'generation.output.num_gaussians': 398234 }],
      ['cw_clip', { 'generation.output.quality_metrics.clip_score': 0.189, 'generation.output.quality_metrics.clip_threshold_pass': true, 'miner_config.clip_threshold': 0.1 }],
      ['cw_total', { 'generation.timing.total_time': 21.45 }],
      ['cw_request', {}],
      ['cw_background_removal', { 'generation.timing.background_removal_time': 1.52, 'miner_config.background_removal_model': 'BiRefNet' }],
      ['cw_trellis', { 'generation.timing.trellis_time': 11.56, 'miner_config.trellis_sparse_steps': 45, 'miner_config.trellis_slat_steps': 35 }],
      ['cw_gaussians', { 'generation.output.num_gaussians': 41877 }],
      ['cw_clip', { 'generation.output.quality_metrics.clip_score': 0.071, 'generation.output.quality_metrics.clip_threshold_pass': false, 'miner_config.clip_threshold': 0.1 }],
      ['cw_rejected', { 'generation.submission.pre_submission_rejection': true, 'generation.submission.rejection_reason': 'clip_below_threshold' }],
    ]);
    expect(events[0]!.fields).toEqual({ prompt_kind: 'text', prompt_chars: 34 });
    expect(events[9]!.fields).toEqual({ prompt_kind: 'image', prompt_chars: 547204 });
    expect(events[14]!.type).toBe('pre_submission_rejection');
    // numbers as numbers, booleans as booleans (toEqual above already compares types; be explicit)
    expect(typeof events[7]!.set['generation.output.quality_metrics.clip_threshold_pass']).toBe('boolean');
    expect(typeof events[6]!.set['generation.output.num_gaussians']).toBe('number');
  });

  test('the example keeps the default rules', () => {
    const rules = compileRules(DEFAULT_RULES, file);
    expect(parseLines([bt('Generation completed. Size: 9')], undefined, rules).events[0]!.fields.bytes).toBe(9);
  });
});

describe('patterns that could hang the collector are refused at load (issue 15, item 4)', () => {
  test('the catastrophic CLIP rule is refused with its name and why, in well under the time it would hang', () => {
    const t0 = Date.now();
    const message = problem(rule({ prefix: 'CLIP score: ', pattern: '^CLIP score: (?<clip_score>(\\d+\\.?\\d*)+)$' }));
    expect(message).toMatch(/rule "r1": pattern can take exponential time on a crafted line such as "CLIP score: \d+/);
    // what it would cost on the 47-byte line of the report: 48 s at 24 digits, never ending at 34
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('a long field whose end scans a prompt quadratically is refused; a linear rewrite is accepted', () => {
    expect(problem({ rules: [{ name: 'p', event: 'x', prefix: 'P: ', long: { field: 'prompt', end: '(?:\\s*\\S+\\s*)+\\.$' } }] })).toMatch(/rule "p": long\.end can take/);
    expect(() => load(rule({ prefix: 'CLIP score: ', pattern: '^CLIP score: (?<clip_score>\\d+(?:\\.\\d+)?)$' }))).not.toThrow();
  });

  test('the check runs in a child process: the collector never keeps recheck (32 MB of RSS) loaded', () => {
    const parse = path.resolve(__dirname, '../../dist/src/parse');
    const script = `const { compileRules, DEFAULT_RULES } = require(${JSON.stringify(parse)});
      const rules = compileRules(DEFAULT_RULES, { rules: [{ name: 'clip', event: 'x', prefix: 'CLIP: ', pattern: '^CLIP: (?<clip_score>\\\\d+)$' }] });
      console.log(JSON.stringify({ rules: rules.length, loaded: Object.keys(require.cache).some((k) => k.includes('/node_modules/recheck')) }));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(JSON.parse(r.stdout)).toEqual({ rules: DEFAULT_RULES.length + 1, loaded: false });
  }, 60000);

  test('the default rules and the custom worker example pass the same check', () => {
    const example = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../examples/rules.custom-worker.json'), 'utf8')) as { rules: object[] };
    const rules = [...DEFAULT_RULES, ...example.rules] as (Parameters<typeof superLinear>[0][number] & { name: string })[];
    const refused = superLinear(rules).flatMap((whys, i) => whys.map((why) => `${rules[i]!.name}: ${why}`));
    expect(refused).toEqual([]);
  }, 60000);
});
