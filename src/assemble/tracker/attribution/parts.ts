/** What the fixed facts alone allow, and the window split into parts no item connects. */
import { otherValidator, workerLineFits } from './options';
import { pulledRightAfter, type AttributionLimits, type Binding, type WindowItem, type WindowTask } from './types';

/**
 * Whether the fixed facts alone let `t` take `it`: a superset of what the search allows, so items
 * and tasks it never connects can be solved apart (see `components`), and a cheap filter before a
 * walk has to prove a pair impossible.
 */
export function mayTakeItem(t: WindowTask, it: WindowItem, limits: AttributionLimits): boolean {
  if (it.kind === 'close') return it.taskId === t.id;
  if (t.closedMs !== null && t.closedMs < it.timeMs && it.kind !== 'file' && !(it.kind === 'worker' && t.abandonedMs !== null)) return false;
  const early = it.kind === 'file' ? limits.fileEarlyMs : limits.slackMs;
  if (t.startMs > it.timeMs + early) return false;
  const boundElsewhere = (b: Binding) => t.fixedBindings.some((x) => x.ns === b.ns && x.value !== b.value);
  switch (it.kind) {
    case 'end':
      return t.canEnd && !t.fixedEnd && !(it.binding && boundElsewhere(it.binding));
    case 'submit_failure':
      return !t.hadFeedback && !otherValidator(t, it);
    case 'worker':
    case 'file': {
      if (boundElsewhere({ ns: 'g', value: it.group })) return false;
      // a generation that ended before (and was not given up on) has no more worker lines
      const e = t.fixedEnd;
      if (e && !e.late && it.timeMs > e.timeMs + limits.slackMs + (it.kind === 'file' ? it.lateMs : 0)) return false;
      if (it.kind === 'file') return t.fixedFileSize == null;
      return workerLineFits(t, it, limits);
    }
  }
}

/**
 * The window split into parts no item connects (`mayTakeItem`), each solved on its own: fewer
 * constraints per part than in one search, so whatever a part determines the whole would too, and a
 * busy miner's window does not grow into one search over every open task.
 */
export function components(tasks: WindowTask[], items: WindowItem[], limits: AttributionLimits): { tasks: WindowTask[]; items: WindowItem[] }[] {
  const parent = new Map(tasks.map((t) => [t.id, t.id]));
  const find = (id: string): string => {
    let r = id;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(id, r);
    return r;
  };
  // a submit failure's part also holds the task pulled right after it (its soft fit reads that task's worker)
  const takers = items.map((it) => {
    const ids = tasks.filter((t) => mayTakeItem(t, it, limits)).map((t) => t.id);
    if (it.kind !== 'submit_failure' || !ids.length) return ids;
    return [...ids, ...tasks.filter((t) => !ids.includes(t.id) && pulledRightAfter(it.timeMs, t.receivedMs)).map((t) => t.id)];
  });
  for (const ids of takers) for (const id of ids.slice(1)) parent.set(find(id), find(ids[0]!));
  const parts = new Map<string, { tasks: WindowTask[]; items: WindowItem[] }>();
  const part = (root: string) => parts.get(root) ?? parts.set(root, { tasks: [], items: [] }).get(root)!;
  for (const t of tasks) part(find(t.id)).tasks.push(t);
  // an item no task may take is a part of its own: nothing consistent, so it is let go
  items.forEach((it, i) => (takers[i]!.length ? part(find(takers[i]![0]!)) : part(`none:${it.key}`)).items.push(it));
  return [...parts.values()].filter((p) => p.items.length);
}
