/**
 * A model of what the upstream miner and its workers log (reference: upstream-miner-logs.md), as a
 * fast-check generator: a `Plan` (random, shrinkable) and `buildSchedule(plan)`, which turns it into
 * the lines of every stream plus the ground truth of every task. For the attribution model test.
 *
 * The grammar, per endpoint (one "chain": upstream's worker loop, strictly sequential):
 *   Querying task from [uid]. Stake: s
 *   Task received. Prompt: {prompt}.
 *   Generating for prompt: {prompt} with timeout None seconds
 *   one end: Generation completed. Size: {bytes} | Generation failed with code: {status}
 *          | Failed to connect to the endpoint. The endpoint might be inaccessible: {url}.
 *          | The request to the endpoint timed out: {url} | An unexpected client error occurred: {error} ({url})
 *   after the submit delay: Feedback received from [uid]. Score: s. ({log_id}) + its detail line
 *          | Failed to submit results to [{hotkey}]. Reason: {reason}. | nothing (no feedback)
 *   then the next pull on that endpoint.
 * The miner's stream interleaves N chains by time (ties broken at random, a chain's own order kept;
 * a feedback line and its detail line are never separated). A failed generation still submits and
 * scores 0; only a completed one can score > 0. Endpoint errors name `{endpoint}/generate/` (upstream
 * urljoins the path); `Worker ({endpoint}) started` names the endpoint itself.
 *
 * Worker (upstream serve.py, loguru; one stream per endpoint, group = the config's worker name): for a
 * completed generation ` Generation took: X min` then ` Saving and encoding took: Y min`, the second
 * being the answer, 1-200 ms before the miner's end line, with X + Y = generating line -> answer. An
 * HTTP error may log an ERROR line no rule knows; endpoint errors log nothing. Lines may be dropped.
 *
 * A miner restart (the startup lines again: `Starting with config: ` with its YAML, the network lines,
 * one `Worker (...) started` per endpoint) cuts every open task at that instant: its lines from then on
 * are not written (a task cut before its `Task received` line is no task). The workers are separate
 * processes: a generation already running finishes and its worker lines are written at their times;
 * its endpoint takes its next task only after that answer (one request at a time).
 */
import fc from 'fast-check';
import type { StreamSpec } from '../../src/parse';
import { bt, loguru, MINER, type Level } from '../parse/helpers';

// ---- the plan (what fast-check generates and shrinks) ----

export type EndKind = 'completed' | 'http_error' | 'unreachable' | 'timeout' | 'client_error';
export type SubmitKind = 'feedback' | 'submit_failed' | 'none';

export interface PlanTask {
  /** Querying line -> Task received (the pull). */
  pullMs: number;
  /** Task received -> Generating for prompt. */
  startMs: number;
  /** Generating -> the end line (at least 250 ms for a completed generation). */
  genMs: number;
  end: EndKind;
  sizeBytes: number;
  status: number;
  /** End line -> feedback / submit failure / the miner giving up. */
  submitMs: number;
  submit: SubmitKind;
  /** Score of a completed generation: 0, an accepted score in [0.6, 1], or `failed` (no validation result). */
  score: number | 'failed';
  validator: number;
  /** After the task: -> the next Querying line on this endpoint. */
  nextMs: number;
  /** The worker's answer (its Saving line) comes this long before the miner's end line (1-200 ms). */
  answerEarlyMs: number;
  /** The saving part of the worker's time (capped to fit). */
  saveMs: number;
  dropGenerationLine: boolean;
  dropSavingLine: boolean;
  /** An HTTP error: the worker logs an ERROR line (no rule matches it). */
  workerErrorLine: boolean;
  /** A prompt over 100 characters (its log id is cut to 97 + `...`). */
  long: boolean;
  words: number[];
}

export interface PlanChain {
  /** Its first Querying line, after the miner's start lines (a few ms apart from others, or far). */
  offsetMs: number;
  tasks: PlanTask[];
  /** After a restart: start lines -> its first Querying line. */
  resumeMs: number;
}

export interface Plan {
  /** Endpoints (chains) in use: the first `n` of `chains`. */
  n: number;
  chains: PlanChain[];
  /** Worker logs: none at all, or one stream per endpoint (stdout or stderr per worker). */
  workers: 'absent' | 'present';
  workerStreams: ('out' | 'error')[];
  /**
   * How the tracker knows the endpoints: the `endpoints` option keyed by the URL as the failure lines
   * name it (`logged`) or by the endpoint itself (`base`), or not at all (`learnt`: only the miner's
   * `Worker (...) started` lines tell them).
   */
  endpoints: 'logged' | 'base' | 'learnt';
  /** The validators' hotkeys given in the tracker's options (else only failure lines name them). */
  hotkeysKnown: boolean;
  /** A miner restart this long after the first start (null: none). */
  restartAtMs: number | null;
  tieSeed: number;
}

const WORDS = ['a', 'red', 'wooden', 'chair', 'old', 'leather', 'boot', 'with', 'laces', 'brass', 'lamp', 'on', 'table', 'small', 'blue', 'ceramic', 'teapot', 'robot', 'toy', 'cat'];

export const VALIDATORS = [
  { uid: 12, hotkey: '5FFApaS75bv5pJHfAp2FVLBj9ZaXuFDjEypsaBNc1wCfe52v' },
  { uid: 37, hotkey: '5DvTpiniW9s3APmHRYn8FroUWyfnLtrsid5Mtn5EwMXHN2ed' },
  { uid: 101, hotkey: '5HEo565WAy4Dbq3Sv271SAi7syBSofyfhhwRNjFNSM2gP9M2' },
  { uid: 200, hotkey: '5F4tQyWrhfGVcNhoqeiNsR6KjD4wMZ2kfhLj4oHYuyHbZAc3' },
];

const STATUSES = [500, 502, 503, 422, 400];
const CLIENT_ERRORS = ['Server disconnected', 'Connection reset by peer', 'Response payload is not completed'];
const SUBMIT_REASONS = ['Request timeout after 300.0 seconds', 'Service unavailable at 38.147.83.11:8091/SubmitResults', 'Service disconnected: Server disconnected'];

/** True with probability about 1/n (shrinks to false). */
const rarely = (n: number) => fc.integer({ min: 0, max: n - 1 }).map((x) => x === n - 1);

const taskArb: fc.Arbitrary<PlanTask> = fc.record({
  pullMs: fc.integer({ min: 20, max: 3000 }),
  startMs: fc.integer({ min: 0, max: 20 }),
  genMs: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1000, max: 60_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 999 }) }),
  end: fc.oneof(
    { weight: 8, arbitrary: fc.constant<EndKind>('completed') },
    { weight: 1, arbitrary: fc.constant<EndKind>('http_error') },
    { weight: 1, arbitrary: fc.constant<EndKind>('unreachable') },
    { weight: 1, arbitrary: fc.constant<EndKind>('timeout') },
    { weight: 1, arbitrary: fc.constant<EndKind>('client_error') },
  ),
  sizeBytes: fc.integer({ min: 1_000_000, max: 80_000_000 }),
  status: fc.constantFrom(...STATUSES),
  submitMs: fc.integer({ min: 200, max: 30_000 }),
  submit: fc.oneof(
    { weight: 6, arbitrary: fc.constant<SubmitKind>('feedback') },
    { weight: 1, arbitrary: fc.constant<SubmitKind>('submit_failed') },
    { weight: 1, arbitrary: fc.constant<SubmitKind>('none') },
  ),
  score: fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 6000, max: 10_000 }).map((x) => x / 10_000) },
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constant<'failed'>('failed') },
  ),
  validator: fc.integer({ min: 0, max: VALIDATORS.length - 1 }),
  nextMs: fc.integer({ min: 0, max: 2000 }),
  answerEarlyMs: fc.integer({ min: 1, max: 200 }),
  saveMs: fc.integer({ min: 50, max: 5000 }),
  dropGenerationLine: rarely(20),
  dropSavingLine: rarely(20),
  workerErrorLine: fc.boolean(),
  long: rarely(5),
  words: fc.array(fc.integer({ min: 0, max: WORDS.length - 1 }), { minLength: 1, maxLength: 6 }),
});

const chainArb: fc.Arbitrary<PlanChain> = fc.record({
  offsetMs: fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 0, max: 5 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 30_000 }) }),
  tasks: fc.array(taskArb, { minLength: 1, maxLength: 5 }),
  resumeMs: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5000 })),
});

export const MAX_ENDPOINTS = 8;

/** N = 1..8, mostly 2-4. */
export const planArb: fc.Arbitrary<Plan> = fc.record({
  n: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 2, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: MAX_ENDPOINTS }) }),
  chains: fc.array(chainArb, { minLength: MAX_ENDPOINTS, maxLength: MAX_ENDPOINTS }),
  workers: fc.oneof({ weight: 3, arbitrary: fc.constant<'present'>('present') }, { weight: 1, arbitrary: fc.constant<'absent'>('absent') }),
  workerStreams: fc.array(fc.constantFrom<'out' | 'error'>('error', 'out'), { minLength: MAX_ENDPOINTS, maxLength: MAX_ENDPOINTS }),
  endpoints: fc.constantFrom<Plan['endpoints']>('logged', 'base', 'learnt'),
  hotkeysKnown: fc.boolean(),
  restartAtMs: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 500, max: 150_000 }) }),
  tieSeed: fc.integer({ min: 0, max: 0x7fffffff }),
});

// ---- the schedule (what the test reads) ----

export interface TaskTruth {
  index: number;
  chain: number;
  group: string;
  /** The endpoint as `Worker (...) started` names it, and as its failure lines name it. */
  endpoint: string;
  url: string;
  prompt: string;
  logId: string;
  validatorUid: number;
  validatorHotkey: string;
  /** Event times (UTC ms) of its lines; null when the line was not written (cut by the restart). */
  queryMs: number;
  receivedMs: number | null;
  generatingMs: number | null;
  endMs: number | null;
  /** The feedback or submit-failure line (or, for `none`, when the miner gave up). */
  submitMs: number | null;
  /** The end the plan had; `end` is the one logged (null: cut before it). */
  plannedEnd: EndKind;
  end: EndKind | null;
  sizeBytes: number | null;
  status: number | null;
  /** What followed the end on the miner's log (null: cut before it). */
  submit: SubmitKind | null;
  score: number | 'failed' | null;
  /** The worker's figures (completed generations only) and which of its lines were written. */
  worker: { generationS: number; savingS: number; generationLogged: boolean; savingLogged: boolean } | null;
  /** The restart cut it short (some of its lines never came). */
  interrupted: boolean;
}

export interface StreamLines {
  spec: StreamSpec;
  lines: string[];
}

export interface Schedule {
  plan: Plan;
  /** The miner's stream first, then one per worker (absent when the plan has no worker logs). */
  streams: StreamLines[];
  tasks: TaskTruth[];
  /** The tracker's `endpoints` option for this plan ({} when they are to be learnt). */
  endpointsOption: Record<string, string>;
  /** The tracker's `validatorHotkeys` option for this plan. */
  validatorHotkeys: Record<string, string>;
  /** The last line's time. */
  lastMs: number;
}

/** 2025-11-12 21:00:00.000 UTC: the first chain's first pull (the start lines come 2 s before). */
export const BASE_MS = Date.UTC(2025, 10, 12, 21, 0, 0);
const STARTUP_SPAN_MS = 1500;

export const timeText = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
export const groupOf = (chain: number): string => `gen-worker-${chain + 1}`;
export const endpointOf = (chain: number): string => `http://127.0.0.1:${8093 + chain}`;
export const urlOf = (chain: number): string => `${endpointOf(chain)}/generate/`;

/** Python's str(float): `0.0`, `1.0`, `0.7123`. */
export const pyFloat = (x: number): string => (Number.isInteger(x) ? x.toFixed(1) : String(x));

export function textLogId(prompt: string): string {
  const cps = [...prompt];
  return cps.length <= 100 ? prompt : cps.slice(0, 97).join('') + '...';
}

function workerSpec(chain: number, stream: 'out' | 'error'): StreamSpec {
  const app = groupOf(chain);
  return { app, role: 'worker', group: app, stream, file: `/logs/${app}-${stream}.log` };
}

/** A prompt unique in the schedule (its index first, so a cut log id stays unique). */
function promptOf(index: number, t: PlanTask): string {
  const words = t.words.map((w) => WORDS[w]!);
  let p = `#${index} ${words.join(' ')}`;
  if (t.long) {
    const filler = ['highly', 'detailed', 'studio', 'lighting', 'white', 'background', 'isometric', 'view'];
    for (let i = 0; [...p].length <= 100; i++) p += ` ${filler[i % filler.length]}`;
  }
  return p;
}

/** A line of a unit: its time and text. */
interface TimedLine {
  ms: number;
  text: string;
}
/** Lines the miner writes back to back (nothing of another chain between them). */
interface Unit {
  chain: number; // -1: the start lines
  seq: number;
  lines: TimedLine[];
}

function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

function startLines(ms: number, n: number): TimedLine[] {
  const out: TimedLine[] = [];
  const add = (text: string, level: Level = 'INFO') => out.push({ ms: ms + out.length, text: bt(text, { time: timeText(ms + out.length), level }) });
  add('Starting with config: ');
  // bittensor prints the config as YAML without headers: continuation lines of the entry (dropped)
  const yaml = ['logging:', '  debug: true', '  trace: false', 'netuid: 17', 'wallet:', '  hotkey: default', '  name: miner', '  path: ~/.bittensor/wallets/'];
  for (const y of yaml) out.push({ ms: out[out.length - 1]!.ms, text: y });
  add('Running neuron on subnet 17 with uid 42 using network: wss://entrypoint-finney.opentensor.ai:443');
  add('Subtensor: Network: finney, Chain: wss://entrypoint-finney.opentensor.ai:443');
  for (let i = 0; i < n; i++) add(`Worker (${endpointOf(i)}) started`);
  return out;
}

/** The plan's lines and truth. Deterministic. */
export function buildSchedule(plan: Plan): Schedule {
  const n = Math.max(1, Math.min(plan.n, plan.chains.length));
  const restartMs = plan.restartAtMs === null ? null : BASE_MS + plan.restartAtMs;
  const units: Unit[] = [{ chain: -1, seq: 0, lines: startLines(BASE_MS - 2000, n) }];
  const workerLines: TimedLine[][] = Array.from({ length: n }, () => []);
  const tasks: TaskTruth[] = [];
  let index = 0;

  for (let c = 0; c < n; c++) {
    const chain = plan.chains[c]!;
    let seq = 0;
    let cursor = BASE_MS + chain.offsetMs;
    let restarted = restartMs === null;
    const resumeAt = (busyUntil: number) => Math.max(restartMs! + STARTUP_SPAN_MS + chain.resumeMs, busyUntil + 1);
    const miner = (lines: TimedLine[]) => units.push({ chain: c, seq: seq++, lines });
    const line = (ms: number, text: string, level: Level = 'DEBUG'): TimedLine => ({ ms, text: bt(text, { time: timeText(ms), level }) });
    const wline = (ms: number, text: string, level: Level = 'INFO'): TimedLine => ({ ms, text: loguru(text, { time: timeText(ms), level, where: '__main__:generate:52' }) });

    for (const p of chain.tasks) {
      if (!restarted && cursor >= restartMs!) {
        cursor = resumeAt(cursor);
        restarted = true;
      }
      const v = VALIDATORS[p.validator]!;
      const prompt = promptOf(index, p);
      const logId = textLogId(prompt);
      const completed = p.end === 'completed';
      const genMs = completed ? Math.max(p.genMs, 250) : p.genMs;
      const score = completed ? p.score : 0;
      const query = cursor;
      const received = query + p.pullMs;
      const generating = received + p.startMs;
      const end = generating + genMs;
      const submitAt = end + p.submitMs;
      const finish = submitAt;

      // the worker's side (a completed generation only): X + Y = generating -> answer
      let worker: TaskTruth['worker'] = null;
      const wl: TimedLine[] = [];
      let busyUntil = generating;
      if (completed) {
        const answer = end - Math.min(p.answerEarlyMs, genMs - 1);
        const total = answer - generating;
        const save = Math.max(1, Math.min(p.saveMs, Math.floor(total / 2)));
        const gen = total - save;
        worker = { generationS: gen / 1000, savingS: save / 1000, generationLogged: !p.dropGenerationLine, savingLogged: !p.dropSavingLine };
        if (!p.dropGenerationLine) wl.push(wline(generating + gen, ` Generation took: ${pyFloat(gen / 60000)} min`));
        if (!p.dropSavingLine) wl.push(wline(answer, ` Saving and encoding took: ${pyFloat(save / 60000)} min`));
        busyUntil = answer;
      } else if (p.end === 'http_error') {
        busyUntil = end - Math.min(p.answerEarlyMs, Math.max(0, genMs - 1));
        if (p.workerErrorLine) wl.push(wline(busyUntil, `Generation failed: CUDA out of memory. Tried to allocate 2.00 GiB`, 'ERROR'));
      }

      const endText = (): [string, Level] => {
        switch (p.end) {
          case 'completed':
            return [`Generation completed. Size: ${p.sizeBytes}`, 'DEBUG'];
          case 'http_error':
            return [`Generation failed with code: ${p.status}`, 'ERROR'];
          case 'unreachable':
            return [`Failed to connect to the endpoint. The endpoint might be inaccessible: ${urlOf(c)}.`, 'ERROR'];
          case 'timeout':
            return [`The request to the endpoint timed out: ${urlOf(c)}`, 'ERROR'];
          case 'client_error':
            return [`An unexpected client error occurred: ${CLIENT_ERRORS[p.status % CLIENT_ERRORS.length]} (${urlOf(c)})`, 'ERROR'];
        }
      };
      const [endMsg, endLevel] = endText();
      const minerUnits: Unit['lines'][] = [
        [line(query, `Querying task from [${v.uid}]. Stake: ${(v.uid * 1000.5).toFixed(2)}`)],
        [line(received, `Task received. Prompt: ${prompt}.`)],
        [line(generating, `Generating for prompt: ${prompt} with timeout None seconds`)],
        [line(end, endMsg, endLevel)],
      ];
      if (p.submit === 'feedback') {
        minerUnits.push([
          line(submitAt, `Feedback received from [${v.uid}]. Score: ${score === 'failed' ? 'failed' : pyFloat(score)}. (${logId})`, 'INFO'),
          line(submitAt, `Average score: 0.${6000 + index}. Current duel rating: ${1500 + index}.0. Accepted results (last 4h): ${40 + index}. Reward: 0.0${112 + index}.`),
        ]);
      } else if (p.submit === 'submit_failed') {
        minerUnits.push([line(submitAt, `Failed to submit results to [${v.hotkey}]. Reason: ${SUBMIT_REASONS[p.validator % SUBMIT_REASONS.length]}.`, 'WARNING')]);
      }

      // the restart cuts the task open at that instant
      const cut = !restarted && restartMs! <= finish;
      const kept = (ms: number) => !cut || ms < restartMs!;
      for (const u of minerUnits) if (kept(u[0]!.ms)) miner(u);
      // the worker is another process: a generation it started before the restart still finishes and logs
      const workerRan = !cut || generating < restartMs!;
      if (workerRan) workerLines[c]!.push(...wl);
      const truth: TaskTruth = {
        index,
        chain: c,
        group: groupOf(c),
        endpoint: endpointOf(c),
        url: urlOf(c),
        prompt,
        logId,
        validatorUid: v.uid,
        validatorHotkey: v.hotkey,
        queryMs: query,
        receivedMs: kept(received) ? received : null,
        generatingMs: kept(generating) ? generating : null,
        endMs: kept(end) ? end : null,
        submitMs: kept(submitAt) ? submitAt : null,
        plannedEnd: p.end,
        end: kept(end) ? p.end : null,
        sizeBytes: kept(end) && completed ? p.sizeBytes : null,
        status: kept(end) && p.end === 'http_error' ? p.status : null,
        submit: kept(submitAt) ? p.submit : null,
        score: kept(submitAt) && p.submit === 'feedback' ? score : null,
        worker: workerRan ? worker : null,
        interrupted: cut,
      };
      tasks.push(truth);
      index++;
      if (cut) {
        restarted = true;
        cursor = resumeAt(workerRan ? busyUntil : 0);
      } else cursor = finish + p.nextMs;
    }
  }
  if (restartMs !== null) units.push({ chain: -1, seq: 1, lines: startLines(restartMs, n) });

  // the miner's stream: units by time; equal times: chains in a random order, a chain's own order kept
  units.sort((a, b) => {
    const ta = a.lines[0]!.ms;
    const tb = b.lines[0]!.ms;
    if (ta !== tb) return ta - tb;
    if (a.chain === b.chain) return a.seq - b.seq;
    if (a.chain === -1 || b.chain === -1) return a.chain === -1 ? -1 : 1;
    return mix(plan.tieSeed ^ ta, a.chain) - mix(plan.tieSeed ^ ta, b.chain);
  });
  const streams: StreamLines[] = [{ spec: MINER, lines: units.flatMap((u) => u.lines.map((l) => l.text)) }];
  let lastMs = Math.max(...units.flatMap((u) => u.lines.map((l) => l.ms)));
  if (plan.workers === 'present') {
    for (let c = 0; c < n; c++) {
      const wl = workerLines[c]!.sort((a, b) => a.ms - b.ms);
      if (wl.length) lastMs = Math.max(lastMs, wl[wl.length - 1]!.ms);
      streams.push({ spec: workerSpec(c, plan.workerStreams[c] ?? 'error'), lines: wl.map((l) => l.text) });
    }
  } else {
    for (const t of tasks) t.worker = null;
  }

  const endpointsOption: Record<string, string> = {};
  if (plan.endpoints !== 'learnt') for (let c = 0; c < n; c++) endpointsOption[plan.endpoints === 'logged' ? urlOf(c) : endpointOf(c)] = groupOf(c);
  const validatorHotkeys: Record<string, string> = {};
  if (plan.hotkeysKnown) for (const v of VALIDATORS) validatorHotkeys[String(v.uid)] = v.hotkey;
  return { plan: { ...plan, n }, streams, tasks, endpointsOption, validatorHotkeys, lastMs };
}

/** The schedule as text, for a failure message: every stream's lines and the truth of every task. */
export function describeSchedule(s: Schedule): string {
  const p = s.plan;
  const out = [
    `plan: N=${p.n} workers=${p.workers} endpoints=${p.endpoints} hotkeysKnown=${p.hotkeysKnown} restart=${p.restartAtMs === null ? 'none' : timeText(BASE_MS + p.restartAtMs)}`,
  ];
  for (const st of s.streams) {
    out.push(`--- ${st.spec.app} (${st.spec.role}, ${st.spec.group}, ${st.spec.stream}): ${st.lines.length} lines`);
    for (const l of st.lines) out.push(l.length > 240 ? l.slice(0, 237) + '...' : l);
  }
  out.push('--- truth');
  for (const t of s.tasks) {
    const tt = (ms: number | null) => (ms === null ? '-' : timeText(ms).slice(11));
    out.push(
      `#${t.index} ${t.group} received ${tt(t.receivedMs)} generating ${tt(t.generatingMs)} end ${tt(t.endMs)} ${t.end ?? `(cut; planned ${t.plannedEnd})`}` +
        `${t.sizeBytes !== null ? ` size ${t.sizeBytes}` : ''}${t.status !== null ? ` status ${t.status}` : ''}` +
        ` then ${t.submit ?? '(cut)'} ${tt(t.submitMs)}${t.score !== null ? ` score ${t.score}` : ''}` +
        `${t.worker ? ` worker ${t.worker.generationS}+${t.worker.savingS}s${t.worker.generationLogged ? '' : ' (gen line dropped)'}${t.worker.savingLogged ? '' : ' (saving line dropped)'}` : ''}` +
        `${t.interrupted ? ' INTERRUPTED' : ''}`,
    );
  }
  return out.join('\n');
}

/** How long a task keeps its endpoint busy when nothing cuts it (query to the next query). */
function spanOf(t: PlanTask): number {
  return t.pullMs + t.startMs + (t.end === 'completed' ? Math.max(t.genMs, 250) : t.genMs) + t.submitMs + t.nextMs;
}

/**
 * Plans one step smaller than `plan` (a task less, an endpoint less, no restart, no worker logs, no
 * worker line dropped...), for a delta-debugging pass after fast-check's own shrinking: its shrinks
 * keep every task, and a counterexample reads best with the fewest lines.
 */
export function smallerPlans(plan: Plan): Plan[] {
  const out: Plan[] = [];
  const n = Math.max(1, Math.min(plan.n, plan.chains.length));
  const withChains = (chains: PlanChain[], nn = n): Plan => ({ ...plan, n: nn, chains });
  for (let c = 0; c < n; c++) {
    if (n > 1) out.push(withChains(plan.chains.filter((_, i) => i !== c), n - 1));
    const chain = plan.chains[c]!;
    for (let i = 0; i < chain.tasks.length; i++) {
      if (chain.tasks.length > 1) {
        // the task's time left empty (the chain's other tasks keep their times), or closed up
        const span = spanOf(chain.tasks[i]!);
        const kept = chain.tasks.filter((_, k) => k !== i).map((x, k) => (k === i - 1 ? { ...x, nextMs: x.nextMs + span } : x));
        out.push(withChains(plan.chains.map((ch, j) => (j === c ? { ...ch, offsetMs: ch.offsetMs + (i === 0 ? span : 0), tasks: kept } : ch))));
        out.push(withChains(plan.chains.map((ch, j) => (j === c ? { ...ch, tasks: ch.tasks.filter((_, k) => k !== i) } : ch))));
      }
      const t = chain.tasks[i]!;
      const simpler: Partial<PlanTask>[] = [];
      if (t.long) simpler.push({ long: false });
      if (t.words.length > 1) simpler.push({ words: [t.words[0]!] });
      if (t.dropGenerationLine) simpler.push({ dropGenerationLine: false });
      if (t.dropSavingLine) simpler.push({ dropSavingLine: false });
      for (const s of simpler) out.push(withChains(plan.chains.map((ch, j) => (j === c ? { ...ch, tasks: ch.tasks.map((x, k) => (k === i ? { ...x, ...s } : x)) } : ch))));
    }
  }
  if (plan.restartAtMs !== null) out.push({ ...plan, restartAtMs: null });
  if (plan.workers === 'present') out.push({ ...plan, workers: 'absent' });
  return out;
}
