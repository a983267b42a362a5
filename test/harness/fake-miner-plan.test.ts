/** The fake miner's building blocks, without PM2: plans, log ids, images, line formats. */
import { createHash } from 'node:crypto';
import { decode as decodeJpeg } from 'jpeg-js';
import { blake3 } from 'hash-wasm';
import { btLine, loguruLine, pyCenter } from '../fixtures/fake-miner/format';
import { taskImage } from '../fixtures/fake-miner/images';
import { imageLogId, pyLen, textLogId } from '../fixtures/fake-miner/logid';
import { CASES, SPECIAL_PROMPTS, buildPlan, fixedPlan, type Case, type PlanTask } from '../fixtures/fake-miner/plan';

/** The case a planned task stands for (the inverse of buildPlan's switch). */
function caseOf(t: PlanTask): Case {
  if (t.crash) return 'crash';
  const g = t.generation.kind;
  if (g !== 'ok') return g;
  if (t.submit.kind === 'submit_failed') return 'submit_failed';
  if (t.submit.kind === 'none') return 'no_feedback';
  return t.submit.score === 'failed' ? 'validation_failed' : t.submit.score > 0 ? 'accepted' : 'rejected';
}

describe('plans', () => {
  test('same seed, same plan; another seed, another plan', () => {
    const a = buildPlan({ seed: 5, tasks: 40, clock: { scale: 1 } });
    expect(buildPlan({ seed: 5, tasks: 40, clock: { scale: 1 } })).toEqual(a);
    expect(buildPlan({ seed: 6, tasks: 40, clock: { scale: 1 } })).not.toEqual(a);
  });

  test.each([fixedPlan(), buildPlan({ seed: 99, tasks: 200 })])('every case, prompt form and extra is there (%#)', (plan) => {
    const cases = new Set(plan.tasks.map(caseOf));
    for (const c of CASES) expect(cases).toContain(c);
    const texts = plan.tasks.map((t) => (t.prompt.kind === 'text' ? t.prompt.text : null));
    for (const p of SPECIAL_PROMPTS) expect(texts).toContain(p);
    expect(new Set(texts.filter((t) => t !== null)).size).toBe(texts.filter((t) => t !== null).length); // no duplicates
    const formats = plan.tasks.map((t) => (t.prompt.kind === 'image' ? t.prompt.format : 'text'));
    expect(formats).toEqual(expect.arrayContaining(['png', 'jpeg', 'text']));
    expect(plan.tasks.some((t) => t.submit.kind === 'feedback' && t.submit.format === 'old')).toBe(true);
    expect(plan.tasks.some((t) => t.submit.kind === 'feedback' && t.submit.detail.rating === null && t.submit.detail.windowHours === 4)).toBe(true);
    expect(plan.tasks.some((t) => t.version)).toBe(true);
    expect(plan.tasks.filter((t) => t.restartBefore)).toHaveLength(1);
    const pre = new Set(plan.tasks.flatMap((t) => t.pre.map((e) => e.kind)));
    expect([...pre].sort()).toEqual(['cooldown', 'no_validators', 'owner_pull_failed', 'pull_failed']);
    for (const t of plan.tasks.filter((x) => x.generation.kind === 'pre_rejection')) expect(plan.endpoints[t.endpoint]!.custom).toBe(true);
  });

  test('upstreamOnly: every endpoint runs serve.py, every case but the pre-submission rejection', () => {
    const plan = buildPlan({ seed: 3, tasks: 120, endpoints: 3, upstreamOnly: true });
    expect(plan.endpoints.map((e) => e.custom)).toEqual([false, false, false]);
    const cases = new Set(plan.tasks.map(caseOf));
    expect([...cases].sort()).toEqual(CASES.filter((c) => c !== 'pre_rejection').sort());
    expect(plan.tasks.every((t) => t.worker === null)).toBe(true);
    // the default is unchanged: the first endpoint runs the custom worker
    expect(buildPlan({ seed: 3, tasks: 120, endpoints: 3 }).endpoints.map((e) => e.custom)).toEqual([true, false, false]);
  });

  test('a 200-task plan stays short: under 20 s of generation and feedback per endpoint', () => {
    const plan = buildPlan({ seed: 1, tasks: 200 });
    for (let e = 0; e < plan.endpoints.length; e++) {
      const ms = plan.tasks.filter((t) => t.endpoint === e).reduce((s, t) => s + t.genMs + t.submit.delayMs, 0);
      expect(ms).toBeLessThan(20_000);
    }
  });
});

describe('log ids', () => {
  test('text: Python code points, cut to 97 + "..." above 100', () => {
    const [, , exactly100, cutBetweenEmoji] = SPECIAL_PROMPTS as [string, string, string, string];
    expect(pyLen(exactly100)).toBe(100);
    expect(exactly100.length).toBe(102);
    expect(textLogId(exactly100)).toBe(exactly100);
    const id = textLogId(cutBetweenEmoji);
    expect(pyLen(id)).toBe(100);
    expect(id.endsWith('🍵...')).toBe(true);
    expect(id).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
    expect(textLogId('a chair')).toBe('a chair');
  });

  test('image: blake3 of the base64 text', async () => {
    expect(await imageLogId('abc')).toBe('image:' + (await blake3('abc')));
    // BLAKE3 of the empty input, from the BLAKE3 reference test vectors
    expect(await imageLogId('')).toBe('image:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  });
});

describe('images', () => {
  test.each(['png', 'jpeg'] as const)('%s prompts are real images of realistic size, unique per task', (format) => {
    const a = taskImage(7, format, 0, 1);
    const b = taskImage(7, format, 0, 2);
    expect(taskImage(7, format, 0, 1).equals(a)).toBe(true);
    expect(createHash('sha256').update(a).digest('hex')).not.toBe(createHash('sha256').update(b).digest('hex'));
    const b64 = a.toString('base64').length;
    expect(b64).toBeGreaterThan(300 * 1024);
    expect(b64).toBeLessThan(600 * 1024);
    if (format === 'jpeg') {
      const img = decodeJpeg(a, { useTArray: true });
      expect(img.width).toBeGreaterThanOrEqual(512);
    } else {
      expect(a.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      expect(a.subarray(12, 16).toString('latin1')).toBe('IHDR');
      expect(a.includes(Buffer.from('tEXtComment\0fake-miner seed 7 task 1'))).toBe(true);
    }
  });
});

describe('line formats', () => {
  test('levels centred as Python does, in 16 and in 8', () => {
    expect(pyCenter('DEBUG', 16)).toBe('     DEBUG      ');
    expect(pyCenter('WARNING', 16)).toBe('    WARNING     ');
    expect(pyCenter('INFO', 16)).toBe('      INFO      ');
    expect(pyCenter('DEBUG', 8)).toBe(' DEBUG  ');
    expect(pyCenter('WARNING', 8)).toBe('WARNING ');
  });

  test('bittensor lines as in the samples, with and without colours and trace field', () => {
    process.env.TZ = 'UTC';
    const ms = Date.UTC(2025, 10, 12, 21, 13, 25, 439);
    expect(btLine({ ansi: true, trace: true, levelWidth: 16 }, ms, 'DEBUG', 'Task received. Prompt: x.', 'workers.py:87')).toBe(
      '\x1b[34m2025-11-12 21:13:25.439\x1b[39m | \x1b[1m\x1b[34m     DEBUG      \x1b[0m | bittensor:workers.py:87 | Task received. Prompt: x.',
    );
    expect(btLine({ ansi: false, trace: false, levelWidth: 8 }, ms, 'INFO', 'm', 'workers.py:87')).toBe('2025-11-12 21:13:25.439 |   INFO   | m');
    expect(loguruLine(ms, 'SUCCESS', 'serve:generate:131', 'Total 21.45s')).toBe('2025-11-12 21:13:25.439 | SUCCESS  | serve:generate:131 - Total 21.45s');
  });
});
