/** V8 set for the commands that stream (common/streaming-flags.ts); imported first by main. */
import { setStreamingFlags } from '../common/streaming-flags';

/**
 * `analyze` and `export` too: their main thread scans and gathers the worker's chunks, and a young
 * generation grown under that kept the peak higher (300,000 spec records: 161-162 against 171-187 MiB).
 */
const SCANS_LOGS_OR_RECORDS = new Set(['ingest', 'analyze', 'export']);

if (SCANS_LOGS_OR_RECORDS.has(process.argv[2] ?? '')) setStreamingFlags();
