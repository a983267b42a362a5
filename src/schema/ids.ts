/**
 * Generation ids are permanent, so their recipe is fixed here once (ARCHITECTURE.md, "Delivery"):
 * UUID v5 over the miner app's name, the header time text of the earliest line carrying the task's
 * prompt (as written, before any time-zone conversion), the log id, and the occurrence number of that
 * (time, log id) pair in the app's stream. Re-reading the same task from anywhere gives the same id.
 */
import { createHash } from 'node:crypto';

/** Namespace of data-collector generation ids (a random v4 UUID chosen once; never change it). */
export const GENERATION_ID_NAMESPACE = '0b6f4d2e-9a51-4c7e-8f3d-5e2a1c9b7d40';

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/** RFC 4122 / 9562 name-based UUID, version 5 (SHA-1). */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface GenerationKey {
  /** PM2 app name of the miner, e.g. `miner-sn17-mainnet`. */
  minerApp: string;
  /** Header time text of the earliest line carrying the prompt, exactly as written. */
  headerTime: string;
  /** The miner's log id: the text prompt (cut at 97 chars + `...`) or `image:<blake3 hex>`. */
  logId: string;
  /** 0 for the first (headerTime, logId) pair in the app's stream, 1 for the next, ... */
  occurrence: number;
}

export function generationId(key: GenerationKey): string {
  const name = JSON.stringify([key.minerApp, key.headerTime, key.logId, key.occurrence]);
  return uuidV5(name, GENERATION_ID_NAMESPACE);
}
