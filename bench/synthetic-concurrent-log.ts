/**
 * A realistic miner log of N endpoints at once, with each endpoint's upstream worker log: the miner's
 * loops interleave (pull, received, generating, the worker's two timings and its access line, the end,
 * then feedback or a failed submit), as upstream's asyncio workers do. 60 % image tasks (~500 KB
 * base64 prompts, logged twice), generations of 15–45 s, 3 % HTTP 500s and 3 % unreachable endpoints,
 * 4 % failed submits, a status line every 30 s. Every image differs. Seeded: the same arguments give
 * the same timings and outcomes (the image bytes are random). The ground truth kept is each task's size
 * (null for a failure), by its received line's time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createBLAKE3 } from 'hash-wasm';
import { imageBody, imagePrompt, line, stamp } from './synthetic-log';

export interface ConcurrentLog {
  minerFile: string;
  workers: { group: string; url: string; file: string }[];
  bytes: number;
  tasks: number;
  imageTasks: number;
  /** Received time (ISO) -> the size its end line logged, or null when its generation failed. */
  sizes: Map<string, number | null>;
}

/** upstream serve.py's loguru line (its stderr). */
const workerLine = (ms: number, msg: string) => `${stamp(ms)} | INFO     | __main__:generate:52 - ${msg}\n`;
const accessLine = (status: number) => `INFO:     127.0.0.1:${40000 + status} - "POST /generate/ HTTP/1.1" ${status} ${status === 200 ? 'OK' : 'Internal Server Error'}\n`;

/** Each validator's hotkey (a failed submit names the validator by it): SS58-like, one per uid. */
const UIDS = [27, 49, 57, 128, 142, 212];
const HOTKEYS = new Map(UIDS.map((uid, i) => [uid, `5${'FGHJKLMNPQ'[i]}${'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ123456789'.repeat(2).slice(uid % 40, uid % 40 + 46)}`]));

/** One loop's lines still to come, in time order. */
interface Loop {
  index: number;
  url: string;
  fd: number;
  pending: { ms: number; text: string }[];
}

/** Writes about `targetBytes` of miner log (plus the workers' logs) into `dir`. */
export async function writeConcurrentLog(dir: string, targetBytes: number, endpoints: number, seed = 1): Promise<ConcurrentLog> {
  // every task its own image (two loops never hold the same prompt at once, as validators' tasks
  // differ): a base PNG-like body, the task's number written into it
  const blake = await createBLAKE3();
  const bodies = Array.from({ length: 8 }, imageBody);
  const imageOf = (n: number) => {
    const raw = Buffer.from(bodies[n % bodies.length]!);
    raw.writeUInt32BE(n, 8);
    return imagePrompt(blake, raw);
  };
  let state = seed >>> 0 || 1;
  const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
  const between = (lo: number, hi: number) => Math.round(lo + rand() * (hi - lo));
  const minerFile = path.join(dir, 'miner-sn17-mainnet-out.log');
  const minerFd = fs.openSync(minerFile, 'w');
  const out: string[] = [];
  let written = 0;
  const flush = () => {
    const s = out.join('');
    out.length = 0;
    fs.writeSync(minerFd, s);
    written += Buffer.byteLength(s);
  };
  const loops: Loop[] = Array.from({ length: endpoints }, (_, i) => ({
    index: i,
    url: `http://127.0.0.1:${8093 + i}`,
    fd: fs.openSync(path.join(dir, `gen-worker-${i + 1}-error.log`), 'w'),
    pending: [],
  }));
  let t = Date.UTC(2025, 10, 12, 0, 0, 0);
  out.push(line(t, 'INFO', 'Running neuron on subnet 17 with uid 226 using network: wss://entrypoint-finney.opentensor.ai:443'));
  out.push(line(++t, 'DEBUG', 'Starting the workers.'));
  for (const l of loops) out.push(line(++t, 'INFO', `Worker (${l.url}) started`));
  out.push(line(++t, 'DEBUG', 'Starting the miner.'));
  const sizes = new Map<string, number | null>();
  let tasks = 0;
  let imageTasks = 0;
  let nextStatusMs = t + 30_000;

  /** One task of `l` from `start`: its miner lines queued, its worker's lines written. */
  const cycle = (l: Loop, start: number) => {
    const n = tasks++;
    const image = rand() < 0.6;
    const uid = UIDS[between(0, UIDS.length - 1)]!;
    const img = image ? imageOf(n) : null;
    const prompt = img ? img.b64 : `a red wooden chair with carved legs, studio lighting, variant ${n}`;
    const logId = img ? img.logId : prompt;
    if (image) imageTasks++;
    let ms = start;
    const miner = (at: number, level: string, text: string) => l.pending.push({ ms: at, text: line(at, level, text) });
    miner(ms, 'DEBUG', `Querying task from [${uid}]. Stake: 1534.22`);
    // received times are unique: they key the truth
    ms += between(150, 900);
    while (sizes.has(new Date(ms).toISOString())) ms++;
    const received = ms;
    miner(ms, 'DEBUG', `Task received. Prompt: ${prompt}.`);
    miner((ms += between(2, 15)), 'DEBUG', `Generating for prompt: ${prompt} with timeout None seconds`);
    const r = rand();
    let size: number | null = null;
    if (r < 0.94) {
      const genMs = between(15_000, 45_000);
      const saveMs = between(300, 600);
      fs.writeSync(l.fd, workerLine(ms + genMs, ` Generation took: ${genMs / 60000} min`));
      fs.writeSync(l.fd, workerLine(ms + genMs + saveMs, ` Saving and encoding took: ${saveMs / 60000} min`) + accessLine(200));
      size = 20_000_000 + n;
      miner((ms += genMs + saveMs + between(1, 4)), 'DEBUG', `Generation completed. Size: ${size}`);
    } else if (r < 0.97) {
      ms += between(1000, 8000);
      fs.writeSync(l.fd, accessLine(500));
      miner((ms += between(1, 3)), 'ERROR', 'Generation failed with code: 500');
    } else miner((ms += between(500, 3000)), 'ERROR', `Failed to connect to the endpoint. The endpoint might be inaccessible: ${l.url}/generate/.`);
    sizes.set(new Date(received).toISOString(), size);
    if (rand() < 0.96) {
      miner((ms += between(800, 8000)), 'DEBUG', `Feedback received from [${uid}]. Score: ${size !== null && rand() < 0.6 ? '0.71' : '0.0'}. (${logId})`);
      miner((ms += between(2, 5)), 'DEBUG', 'Average score: 0.62. Current duel rating: 1501.0. Accepted results (last 4h): 41. Reward: 0.0112.');
    } else miner((ms += between(5000, 30000)), 'WARNING', `Failed to submit results to [${HOTKEYS.get(uid)}]. Reason: Timeout.`);
    // the next pull follows at once
    return ms + between(1, 5);
  };

  const nextStart = loops.map((l) => t + 1 + l.index * between(100, 3000));
  while (written < targetBytes) {
    for (const l of loops) if (!l.pending.length) nextStart[l.index] = cycle(l, nextStart[l.index]!);
    // the earliest line of any loop (ties: the lower loop) or the status line
    let first = loops[0]!;
    for (const l of loops) if (l.pending[0]!.ms < first.pending[0]!.ms) first = l;
    if (nextStatusMs <= first.pending[0]!.ms) {
      out.push(line(nextStatusMs, 'INFO', 'Miner | UID:226 | Block:6712345 | Stake:1534.2201 | Trust:0.9 | Incentive:0.002 | Emission:0.5'));
      nextStatusMs += 30_000;
      continue;
    }
    out.push(first.pending.shift()!.text);
    if (out.length > 200) flush();
  }
  // every started task to its last line
  for (;;) {
    const rest = loops.filter((l) => l.pending.length);
    if (!rest.length) break;
    let first = rest[0]!;
    for (const l of rest) if (l.pending[0]!.ms < first.pending[0]!.ms) first = l;
    out.push(first.pending.shift()!.text);
  }
  flush();
  fs.closeSync(minerFd);
  for (const l of loops) fs.closeSync(l.fd);
  return {
    minerFile,
    workers: loops.map((l) => ({ group: `gen-worker-${l.index + 1}`, url: l.url, file: path.join(dir, `gen-worker-${l.index + 1}-error.log`) })),
    bytes: written + loops.reduce((n, l) => n + fs.statSync(path.join(dir, `gen-worker-${l.index + 1}-error.log`)).size, 0),
    tasks,
    imageTasks,
    sizes,
  };
}
