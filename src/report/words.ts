/** The selection of a report said in words ("IMAGE-TO-3D only, validator 57, 2025-11-01 to 2025-11-20"), never JSON. */
import type { Filter } from '../query/filter';

/** A UTC instant as a date when it is midnight, else date and time to the minute (or second). */
export function when(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2025-11-01T00:00:00.000Z
  if (iso.endsWith('T00:00:00.000Z')) return iso.slice(0, 10);
  const t = iso.endsWith(':00.000Z') ? iso.slice(11, 16) : iso.endsWith('.000Z') ? iso.slice(11, 19) : iso.slice(11, 23);
  return `${iso.slice(0, 10)} ${t} UTC`;
}

const list = (xs: string[], joiner: string): string => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} ${joiner} ${xs[xs.length - 1]}`);

/** "all records" when nothing narrows the selection. --since is inclusive, --until exclusive. */
export function filterInWords(f: Filter): string {
  const out: string[] = [];
  if (f.taskType) out.push(`${f.taskType} only`);
  if (f.validator !== undefined) out.push(`validator ${f.validator}`);
  if (f.sinceMs !== undefined && f.untilMs !== undefined) out.push(`${when(f.sinceMs)} to ${when(f.untilMs)}`);
  else if (f.sinceMs !== undefined) out.push(`since ${when(f.sinceMs)}`);
  else if (f.untilMs !== undefined) out.push(`before ${when(f.untilMs)}`);
  if (f.acceptedOnly) out.push('accepted only');
  if (f.noInferred) out.push('no inferred links');
  if (f.outcomes?.length) out.push(`outcome ${list(f.outcomes, 'or')}`);
  if (f.minScore !== undefined) out.push(`validator score at least ${f.minScore}`);
  if (f.minClip !== undefined) out.push(`CLIP score at least ${f.minClip}`);
  if (f.hosts?.length) out.push(`${f.hosts.length === 1 ? 'host' : 'hosts'} ${list(f.hosts, 'and')}`);
  return out.length ? out.join(', ') : 'all records';
}
