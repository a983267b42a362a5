/**
 * Attribution: which open task each unnamed event belongs to (see types.ts for what the logs
 * guarantee). Pure: the open window in, per event `determined` or `inferred` out.
 */
export * from './types';
export { solve } from './solve';
export { components, mayTakeItem } from './parts';
