/** Measuring the workers' 3D Gaussian Splatting PLY files for `generation.output`. */
export { summarizePly, summarizePlyBuffer, tryReadPlySummary, outputFields, DEFAULT_CHUNK_BYTES } from './summarize';
export type { PlySummary, PlyResult, PlyOutputFields } from './summarize';
export { parsePlyHeader, MAX_HEADER_BYTES } from './header';
export type { PlyHeader, PlyElement, PlyProperty, PlyFormat, ScalarType } from './header';
export { MEASURED, NEAR_TRANSPARENT_OPACITY } from './stats';
export type { GaussianStats } from './stats';
