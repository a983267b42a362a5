/**
 * A tick solves the attribution window again only when something changed or a deadline the last solve
 * read has passed (window-time.ts): otherwise the solve would settle nothing new. These pin when it
 * solves, and that skipping changes no answer.
 */
import { ENDPOINTS, STATS, at, feed, links, m, makeTracker, msg, recordOf, start, toEvents } from './events';

/** Two tasks generating, one unnamed end at 20 s: it waits, open, until it freezes 2 min after it. */
async function waitingEnd() {
  const t = await makeTracker({ endpoints: ENDPOINTS });
  feed(t.tracker, toEvents([...start(0, 'a red chair'), ...start(1, 'a blue lamp'), m(20, msg.completed(1000))]));
  return t;
}

describe('tick re-solves', () => {
  test('ticks with nothing new solve nothing until the open end freezes; then its best fit is applied', async () => {
    const { tracker } = await waitingEnd();
    tracker.tick(at(21));
    const solves = tracker.counters.attributionSolves;
    for (let s = 22; s < 140; s++) tracker.tick(at(s));
    expect(tracker.counters.attributionSolves).toBe(solves);
    expect(tracker.snapshot().window!.map((w) => w.item.kind)).toEqual(['end']);
    // 2 min after the end it freezes: solved again, and applied to the older task by best fit
    tracker.tick(at(140));
    tracker.tick(at(141));
    expect(tracker.counters.attributionSolves).toBeGreaterThan(solves);
    expect(tracker.snapshot().window).toEqual([]);
    tracker.finishAll('input_ended');
    const records = tracker.drainRecords().map((f) => f.record);
    expect(links(recordOf(records, 'a red chair'))).toEqual(['generation_completed:inferred:2']);
    expect(recordOf(records, 'a red chair').generation.output.file_size_bytes).toBe(1000);
    expect(recordOf(records, 'a blue lamp').generation.output.file_size_bytes).toBeNull();
  });

  test('a line that settles nothing by itself still makes the next tick solve again', async () => {
    const { tracker } = await waitingEnd();
    tracker.tick(at(21));
    const solves = tracker.counters.attributionSolves;
    feed(tracker, toEvents([m(60, STATS)]));
    tracker.tick(at(61.5));
    expect(tracker.counters.attributionSolves).toBe(solves + 1);
    tracker.tick(at(63));
    expect(tracker.counters.attributionSolves).toBe(solves + 1);
  });

  test('skipping changes no answer: the records of a tracker made to solve at every tick are the same', async () => {
    const lines = [
      ...start(0, 'a red chair'),
      ...start(1, 'a blue lamp'),
      m(20, msg.completed(1000)),
      m(90, msg.completed(2000)),
      m(100, msg.feedback(7, '0.8', 'a blue lamp')),
      m(170, msg.feedback(7, '0.9', 'a red chair')),
    ];
    const skipping = await makeTracker({ endpoints: ENDPOINTS });
    const solving = await makeTracker({ endpoints: ENDPOINTS });
    let s = 0;
    for (const e of toEvents(lines)) {
      for (; at(s) < e.timeMs; s++) {
        skipping.tracker.tick(at(s));
        // the same (empty) settings again: a change as far as the window knows, so it solves
        solving.tracker.setMinerSettings({});
        solving.tracker.tick(at(s));
      }
      feed(skipping.tracker, [e]);
      feed(solving.tracker, [e]);
    }
    expect(solving.tracker.counters.attributionSolves).toBeGreaterThan(skipping.tracker.counters.attributionSolves + 100);
    const records = (t: typeof skipping) => {
      t.tracker.finishAll('input_ended');
      return t.tracker.drainRecords().map((f) => f.record);
    };
    const a = records(skipping);
    expect(records(solving)).toEqual(a);
    expect(links(recordOf(a, 'a blue lamp'))).toEqual(['feedback:named:1', 'generation_completed:inferred:2']);
  });
});
