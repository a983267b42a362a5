/**
 * The miner's own settings file (`minerConfigFile`): the operator's record of what the miner and
 * workers run with (TRELLIS steps, CLIP threshold, ...). JSON (nested objects become dotted keys) or a
 * flat YAML of `key: value` lines. Its values go into each record's `miner_config`, and every change
 * into miner_config_history.jsonl.
 */
import * as fs from 'node:fs';
import { CollectorError } from '../common/errors';
import type { ConfigChange, Scalar } from '../schema';

export type Settings = Record<string, Scalar>;

function scalarOf(text: string): Scalar {
  const t = text.trim().replace(/^(['"])(.*)\1$/, '$2');
  if (t === 'null' || t === '~' || t === '') return null;
  if (t === 'true' || t === 'false') return t === 'true';
  const n = Number(t);
  return Number.isFinite(n) && /^[-+]?[\d.]+(e[-+]?\d+)?$/i.test(t) ? n : t;
}

function flatten(obj: Record<string, unknown>, prefix: string, out: Settings): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[key] = v as Scalar;
    else out[key] = JSON.stringify(v);
  }
}

export function readMinerSettings(file: string): Settings {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CollectorError('CONFIG_INVALID', `cannot read the miner settings file: ${(err as Error).message}`, file, 'fix minerConfigFile in the config');
  }
  const out: Settings = {};
  if (/\.ya?ml$/i.test(file)) {
    for (const line of text.split(/\r?\n/)) {
      const m = /^([A-Za-z0-9_.-]+)\s*:\s*(.*?)\s*(?:#.*)?$/.exec(line);
      if (m) out[m[1]!] = scalarOf(m[2]!);
    }
    return out;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    flatten(parsed as Record<string, unknown>, '', out);
  } catch (err) {
    throw new CollectorError('CONFIG_INVALID', `invalid miner settings file: ${(err as Error).message}`, file, 'fix the JSON');
  }
  return out;
}

/** The keys whose value differs, sorted by key; a key that appears or goes away has null on one side. */
export function diffSettings(before: Settings, after: Settings): ConfigChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.filter((k) => (before[k] ?? null) !== (after[k] ?? null)).map((k) => ({ key: k, old: before[k] ?? null, new: after[k] ?? null }));
}
