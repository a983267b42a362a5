/**
 * Most of what `ingest` allocates dies young (a read's lines, a prompt's copies). Under that load V8
 * grows the young generation up to 16 MB semi-spaces, and the peak RSS grew with the input (165-171
 * MB at 2 GB); kept at its first size (1 MB) it stays at 140-143 MB at the same speed (bench/README.md,
 * the ingest bench). V8 reads the flag when the young generation would grow, so setting it at run
 * time works, but loading the modules already grows it: this module is imported first.
 */
import * as v8 from 'node:v8';

/**
 * `analyze` and `export` too: their main thread scans and gathers the worker's chunks, and a young
 * generation grown under that kept the peak higher (300,000 spec records: 161-162 against 171-187 MiB).
 */
const SCANS_LOGS_OR_RECORDS = new Set(['ingest', 'analyze', 'export']);

if (SCANS_LOGS_OR_RECORDS.has(process.argv[2] ?? '')) v8.setFlagsFromString('--semi-space-growth-factor=1');
