/**
 * What Linux tells us about a process, to decide whether a lock's holder is still the process that
 * took it. Everything degrades to "unknown" (null) where /proc is not there.
 */
import * as fs from 'node:fs';

export interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), ... */
  state: string;
  /** Field 22: start time in clock ticks since boot; with the boot id it tells a reused pid apart. */
  startTicks: number;
}

/** Parses /proc/<pid>/stat; null when the process or /proc is not there. */
export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Field 2 (the command name) is in parentheses and may itself hold spaces or ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const startTicks = Number(rest[19]); // field 22; `rest` starts at field 3
  if (!state || !Number.isSafeInteger(startTicks)) return null;
  return { state, startTicks };
}

let cachedBootId: string | null | undefined;

/** The kernel's boot id: a pid from another boot is never the same process. */
export function bootId(): string | null {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId;
}
