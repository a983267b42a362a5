/**
 * Writes the JSON Schema of every record kind to schema/*.schema.json (checked in, for users of other
 * languages). `npm run schema:export` runs this; a test fails when the files are stale.
 * Usage: node dist/src/schema/export-json-schema.js [out-dir]   (default: <package root>/schema)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { GenerationRecordSchema } from './record';
import { MinerConfigHistoryEntrySchema } from './miner-config-history';
import { MinerEventSchema } from './miner-event';
import { SCHEMA_VERSION } from './common';

const SCHEMAS: Record<string, { title: string; schema: z.ZodType }> = {
  'generation-record.schema.json': { title: 'generation_history.jsonl line', schema: GenerationRecordSchema },
  'miner-config-history.schema.json': { title: 'miner_config_history.jsonl line', schema: MinerConfigHistoryEntrySchema },
  'miner-event.schema.json': { title: 'miner_events.jsonl line', schema: MinerEventSchema },
};

/** File name -> JSON text (2-space indent, final newline): exactly what the checked-in files must hold. */
export function jsonSchemaFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [file, { title, schema }] of Object.entries(SCHEMAS)) {
    // io: 'output' describes the lines as written; `title` and the version help readers outside TypeScript.
    const json = { title: `${title} (schema_version ${SCHEMA_VERSION})`, ...z.toJSONSchema(schema, { io: 'output' }) };
    out[file] = `${JSON.stringify(json, null, 2)}\n`;
  }
  return out;
}

/** The folder holding package.json, from here up (works from src/ under ts-jest and from dist/). */
export function packageRoot(from: string = __dirname): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

export function defaultSchemaDir(): string {
  return path.join(packageRoot(), 'schema');
}

export function writeJsonSchemaFiles(dir: string = defaultSchemaDir()): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return Object.entries(jsonSchemaFiles()).map(([file, text]) => {
    const target = path.join(dir, file);
    fs.writeFileSync(target, text);
    return target;
  });
}

if (require.main === module) {
  for (const written of writeJsonSchemaFiles(process.argv[2])) process.stdout.write(`wrote ${written}\n`);
}
