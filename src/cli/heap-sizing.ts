/**
 * V8's heap sized for a command that streams through far more than it keeps.
 *
 * Most of what `ingest` allocates dies young (a read's lines, a prompt's copies). Under that load V8
 * grows the young generation up to 16 MB semi-spaces, and the peak RSS grew with the input (165-171
 * MB at 2 GB); kept at its first size (1 MB) it stays at 140-143 MB at the same speed (bench/README.md,
 * the ingest bench). V8 reads the flag when the young generation would grow, so setting it at run
 * time works, but loading the modules already grows it: this module is imported first.
 *
 * What the small young generation promotes then dies in the old one, which V8 lets grow to four times
 * what was live after its last full collection before the next: at 4 endpoints and 4 GB the peak was
 * 172-183 MB with 20-35 MB live. Grown by at most twice what was live, 126-129 MB at the same speed
 * (`--optimize-for-size` bounds it too, 108 MB, but slows ingest by a tenth). V8 reads this flag each
 * time it sets the next limit.
 */
import * as v8 from 'node:v8';

/**
 * `analyze` and `export` too: their main thread scans and gathers the worker's chunks, and a young
 * generation grown under that kept the peak higher (300,000 spec records: 161-162 against 171-187 MiB).
 */
const SCANS_LOGS_OR_RECORDS = new Set(['ingest', 'analyze', 'export']);

if (SCANS_LOGS_OR_RECORDS.has(process.argv[2] ?? '')) v8.setFlagsFromString('--semi-space-growth-factor=1 --heap-growing-percent=100');
