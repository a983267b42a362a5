/**
 * What a prompt is: text, or a base64-encoded image. The miner's log id of a task (the link the
 * feedback line carries) is computed here exactly as upstream does: a text prompt itself when it
 * has at most 100 characters (Python counts code points), else its first 97 + `...`; an image:
 * `image:` + the BLAKE3 hex of the base64 text's bytes.
 */
import { createHash } from 'node:crypto';
import { createBLAKE3, type IHasher } from 'hash-wasm';
import { imageExtension, type ImageExtension } from '../common/image-type';

export interface Hashers {
  blake3Hex(data: Buffer): string;
}

/** BLAKE3 from hash-wasm (WASM, ~1 GB/s here; pure-JS BLAKE3 is 12x slower). */
export async function createHashers(): Promise<Hashers> {
  const hasher: IHasher = await createBLAKE3();
  return {
    blake3Hex(data: Buffer): string {
      hasher.init();
      hasher.update(data);
      return hasher.digest('hex');
    },
  };
}

export interface TextPrompt {
  kind: 'text';
  text: string;
  /** Characters as Python counts them (code points). */
  length: number;
  logId: string;
}

export interface ImagePrompt {
  kind: 'image';
  /** Length of the base64 text. */
  length: number;
  logId: string;
  /** The decoded image: a view the next `analysePrompt` overwrites (stored at once, never kept). */
  bytes: Buffer;
  sha256: string;
  ext: ImageExtension;
}

export type Prompt = TextPrompt | ImagePrompt;

/** Prompts shorter than this are text even when they look like base64 (a word, a hash). */
export const MIN_IMAGE_BASE64 = 256;

/** Where images are decoded: one buffer, grown to the largest image, instead of one per prompt. */
let decodeScratch = Buffer.alloc(0);

/**
 * Strict base64: only the alphabet, `=` padding at the end, and a length that decodes fully. The
 * result is a view of `decodeScratch`, valid until the next call.
 */
function decodeStrictBase64(bytes: Buffer): Buffer | null {
  if (bytes.length < MIN_IMAGE_BASE64 || bytes.length % 4 === 1) return null;
  const text = bytes.toString('latin1');
  let pad = 0;
  if (text.endsWith('==')) pad = 2;
  else if (text.endsWith('=')) pad = 1;
  const expected = Math.floor(((bytes.length - pad) * 3) / 4);
  // room past `expected`: a text that decodes longer than its length says shows it
  if (decodeScratch.length < expected + 3) decodeScratch = Buffer.allocUnsafeSlow(Math.max(expected + 3, 2 * decodeScratch.length));
  // Node skips characters outside the alphabet: a shorter result means the text was not base64
  const written = decodeScratch.write(text, 0, 'base64');
  return written === expected ? decodeScratch.subarray(0, written) : null;
}

export function textLogId(text: string): { length: number; logId: string } {
  let length = 0;
  let cut97 = -1;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    length++;
    if (length === 97) cut97 = i;
  }
  return { length, logId: length <= 100 ? text : `${text.slice(0, cut97)}...` };
}

/** Reads a prompt as the miner logged it. */
export function analysePrompt(bytes: Buffer, hashers: Hashers): Prompt {
  const decoded = decodeStrictBase64(bytes);
  if (decoded) {
    return {
      kind: 'image',
      length: bytes.length,
      logId: `image:${hashers.blake3Hex(bytes)}`,
      bytes: decoded,
      sha256: createHash('sha256').update(decoded).digest('hex'),
      ext: imageExtension(decoded),
    };
  }
  const text = bytes.toString('utf8');
  return { kind: 'text', text, ...textLogId(text) };
}

/** The key that matches the two copies of a prompt (task received, generating) without keeping it. */
export function promptKey(p: Prompt): string {
  return p.kind === 'image' ? p.logId : `text:${p.text}`;
}

/** Task type from a log id alone (a feedback line whose task was never seen). */
export function taskTypeOfLogId(logId: string): 'IMAGE-TO-3D' | 'TEXT-TO-3D' {
  return /^image:[0-9a-f]{64}$/.test(logId) ? 'IMAGE-TO-3D' : 'TEXT-TO-3D';
}
