/**
 * A realistic miner log for benchmarks: bittensor format with colour codes and the trace field, two
 * endpoints, 60% image tasks (base64 PNG-like prompts of ~500 KB) and 40% text tasks, each with
 * its querying, task, generating, completion, feedback and detail lines, plus periodic stats lines.
 */
import * as fs from 'node:fs';
import { createBLAKE3, type IHasher } from 'hash-wasm';
import { randomBytes } from 'node:crypto';

const pad2 = (n: number) => String(n).padStart(2, '0');
export function stamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')}`;
}
export function line(ms: number, level: string, msg: string): string {
  const w = 16;
  const left = Math.floor((w - level.length) / 2);
  const lv = ' '.repeat(left) + level + ' '.repeat(w - level.length - left);
  return `\x1b[34m${stamp(ms)}\x1b[39m | \x1b[1m\x1b[34m${lv}\x1b[0m | bittensor:workers.py:87 | ${msg}\n`;
}

export interface SyntheticLog {
  bytes: number;
  tasks: number;
  imageTasks: number;
}

/** A ~370 KB PNG-like body (random after the signature): a ~500 KB base64 prompt. */
export const imageBody = (): Buffer => Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(370_000)]);

/** An image as the miner logs it: its base64 prompt and its log id (BLAKE3 of that text). */
export function imagePrompt(blake: IHasher, raw: Buffer): { b64: string; logId: string } {
  const b64 = raw.toString('base64');
  blake.init();
  blake.update(b64);
  return { b64, logId: `image:${blake.digest('hex')}` };
}

/** Writes about `targetBytes` of log to `file`. */
export async function writeSyntheticLog(file: string, targetBytes: number, imageShare = 0.6): Promise<SyntheticLog> {
  // a few distinct images, cycled: decoding and hashing cost the same whatever the content
  const blake = await createBLAKE3();
  const images = Array.from({ length: 8 }, () => imagePrompt(blake, imageBody()));
  const fd = fs.openSync(file, 'w');
  let written = 0;
  let tasks = 0;
  let imageTasks = 0;
  let t = Date.UTC(2025, 10, 12, 0, 0, 0);
  const out: string[] = [];
  const flush = () => {
    const s = out.join('');
    out.length = 0;
    fs.writeSync(fd, s);
    written += Buffer.byteLength(s);
  };
  out.push(line(t, 'INFO', 'Running neuron on subnet 17 with uid 226 using network: wss://entrypoint-finney.opentensor.ai:443'));
  while (written < targetBytes) {
    const image = (tasks * 7919) % 100 < imageShare * 100;
    const uid = [27, 49, 57, 128, 142, 212][tasks % 6]!;
    let prompt: string;
    let logId: string;
    if (image) {
      const img = images[tasks % images.length]!;
      prompt = img.b64;
      logId = img.logId;
      imageTasks++;
    } else {
      prompt = `a red wooden chair with carved legs, studio lighting, variant ${tasks}`;
      logId = prompt;
    }
    out.push(line(t, 'DEBUG', `Querying task from [${uid}]. Stake: 1534.22`));
    out.push(line((t += 300), 'DEBUG', `Task received. Prompt: ${prompt}.`));
    out.push(line((t += 10), 'DEBUG', `Generating for prompt: ${prompt} with timeout None seconds`));
    out.push(line((t += 20000), 'DEBUG', `Generation completed. Size: ${20_000_000 + tasks}`));
    out.push(line((t += 60000), 'DEBUG', `Feedback received from [${uid}]. Score: ${tasks % 3 ? '0.71' : '0.0'}. (${logId})`));
    out.push(line((t += 2), 'DEBUG', 'Average score: 0.62. Current duel rating: 1501.0. Accepted results (last 4h): 41. Reward: 0.0112.'));
    if (tasks % 20 === 0) out.push(line((t += 5), 'INFO', 'Miner | UID:226 | Block:6712345 | Stake:1534.2201 | Trust:0.9 | Incentive:0.002 | Emission:0.5'));
    tasks++;
    if (out.length > 200) flush();
  }
  flush();
  fs.closeSync(fd);
  return { bytes: written, tasks, imageTasks };
}
