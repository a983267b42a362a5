import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultSchemaDir, jsonSchemaFiles, writeJsonSchemaFiles } from '../../src/schema/export-json-schema';

describe('checked-in JSON Schema files (schema/*.schema.json)', () => {
  test('are up to date with the zod schema', () => {
    const dir = defaultSchemaDir();
    const stale = Object.entries(jsonSchemaFiles())
      .filter(([file, text]) => {
        const p = path.join(dir, file);
        return !fs.existsSync(p) || fs.readFileSync(p, 'utf8') !== text;
      })
      .map(([file]) => `schema/${file}`);
    if (stale.length > 0) {
      throw new Error(`stale or missing: ${stale.join(', ')}; run \`npm run schema:export\` and check the files in`);
    }
  });

  test('carry the field documentation and the closed/open objects', () => {
    const record = JSON.parse(jsonSchemaFiles()['generation-record.schema.json']!) as {
      additionalProperties: boolean;
      properties: Record<string, { additionalProperties?: unknown; properties: Record<string, { description?: string }> }>;
    };
    expect(record.additionalProperties).toBe(false);
    expect(record.properties.task!.properties.base64_image_hash!.description).toMatch(/decoded image bytes/);
    expect(record.properties.miner_config!.additionalProperties).toEqual({ type: ['number', 'string', 'boolean', 'null'] });
  });

  test('the writer writes exactly that text', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-export-'));
    try {
      const written = writeJsonSchemaFiles(dir);
      expect(written.map((p) => path.basename(p)).sort()).toEqual(Object.keys(jsonSchemaFiles()).sort());
      for (const [file, text] of Object.entries(jsonSchemaFiles())) expect(fs.readFileSync(path.join(dir, file), 'utf8')).toBe(text);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
