/**
 * Exact distributions (count, mean, min, nearest-rank p50/p90/p99, max) of a column's values, per group,
 * without holding the values. Sorting them needed 8 bytes a selected row (24 MB at 3 million, the
 * largest thing left at the end of `analyze`); here each value is found by its bits instead: the
 * doubles are mapped to 64-bit keys in the same order, and each pass over the column counts the values
 * under the wanted rank's prefix by their next 8 or 12 bits, until at most GATHER values share the prefix
 * (gathered and sorted) or all 64 bits are fixed (the value itself). Memory: 16 KB a wanted rank and
 * pass; passes: 2-8 over the column (a read from the page cache each).
 */

export interface Dist {
  n: number;
  mean: number | null;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

/** One pass over the values (NaN never passed), each with its group (0 when there are none). */
export type ValuePass = (each: (value: number, group: number) => void) => void;

const PERCENTS = [50, 90, 99] as const;

/** The digits of a key, high to low: each 32-bit half as 12 + 12 + 8 bits, so no digit spans both. */
const DIGITS = [
  { word: 0, shift: 20, bits: 12 },
  { word: 0, shift: 8, bits: 12 },
  { word: 0, shift: 0, bits: 8 },
  { word: 1, shift: 20, bits: 12 },
  { word: 1, shift: 8, bits: 12 },
  { word: 1, shift: 0, bits: 8 },
] as const;

/** A bucket of at most this many values is gathered and sorted rather than counted again. */
const GATHER = 4096;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** Little-endian: the double's high word is u32[1]. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** The order-preserving key of `v` as [high word, low word]: the sign bit flipped for positives, every bit for negatives. */
function keyOf(v: number, out: Uint32Array): void {
  f64[0] = v;
  const hi = u32[HI]!;
  const lo = u32[LO]!;
  if (hi & 0x80000000) {
    out[0] = ~hi;
    out[1] = ~lo;
  } else {
    out[0] = hi | 0x80000000;
    out[1] = lo;
  }
}

function valueOf(hi: number, lo: number): number {
  if (hi & 0x80000000) {
    u32[HI] = hi & 0x7fffffff;
    u32[LO] = lo;
  } else {
    u32[HI] = ~hi;
    u32[LO] = ~lo;
  }
  return f64[0]!;
}

interface Wanted {
  /** The rank within the node's values (0-based). */
  k: number;
  /** Where the answer goes: its group's result and which percentile. */
  dist: Dist;
  key: 'p50' | 'p90' | 'p99';
}

/** The values of one group whose keys start with `prefix` (under `mask`): counted by their next digit, or gathered. */
interface Node {
  group: number;
  mask: Uint32Array;
  prefix: Uint32Array;
  /** Index into DIGITS of the digit counted next. */
  digit: number;
  count: number;
  hist: Uint32Array | null;
  gathered: number[] | null;
  wanted: Wanted[];
}

function nodeOf(group: number, mask: Uint32Array, prefix: Uint32Array, digit: number, count: number, wanted: Wanted[], gatherAt: number): Node {
  const gather = count <= gatherAt;
  return { group, mask, prefix, digit, count, hist: gather ? null : new Uint32Array(1 << DIGITS[digit]!.bits), gathered: gather ? [] : null, wanted };
}

/** The exact distribution of each group's values; `gatherAt`: GATHER (tests make it small). */
export function distributions(pass: ValuePass, gatherAt = GATHER): Map<number, Dist> {
  // the sum compensated (Neumaier), so the mean does not depend on the order of the rows
  const stats = new Map<number, { n: number; sum: number; lost: number; min: number; max: number }>();
  pass((v, g) => {
    const s = stats.get(g);
    if (!s) return void stats.set(g, { n: 1, sum: v, lost: 0, min: v, max: v });
    s.n++;
    const t = s.sum + v;
    if (Number.isFinite(t)) s.lost += Math.abs(s.sum) >= Math.abs(v) ? s.sum - t + v : v - t + s.sum;
    s.sum = t;
    if (v < s.min) s.min = v;
    if (v > s.max) s.max = v;
  });
  const out = new Map<number, Dist>();
  let open = new Map<number, Node[]>();
  for (const [g, s] of stats) {
    const dist: Dist = { n: s.n, mean: (s.sum + s.lost) / s.n, min: s.min, p50: null, p90: null, p99: null, max: s.max };
    out.set(g, dist);
    const wanted = PERCENTS.map((p): Wanted => ({ k: Math.max(0, Math.ceil((p / 100) * s.n) - 1), dist, key: `p${p}` }));
    open.set(g, [nodeOf(g, new Uint32Array(2), new Uint32Array(2), 0, s.n, wanted, gatherAt)]);
  }
  const key = new Uint32Array(2);
  while (open.size > 0) {
    pass((v, g) => {
      const nodes = open.get(g);
      if (!nodes) return;
      keyOf(v, key);
      for (const n of nodes) {
        // compared as int32 bits: `&` gives a signed result, the prefix is unsigned
        if (((key[0]! & n.mask[0]!) ^ n.prefix[0]!) !== 0 || ((key[1]! & n.mask[1]!) ^ n.prefix[1]!) !== 0) continue;
        if (n.gathered) n.gathered.push(v);
        else {
          const d = DIGITS[n.digit]!;
          n.hist![(key[d.word]! >>> d.shift) & ((1 << d.bits) - 1)]!++;
        }
      }
    });
    const next = new Map<number, Node[]>();
    for (const nodes of open.values())
      for (const n of nodes) {
        if (n.gathered) {
          n.gathered.sort((a, b) => a - b);
          for (const w of n.wanted) w.dist[w.key] = n.gathered[w.k]!;
          continue;
        }
        for (const child of split(n, gatherAt)) (next.get(child.group) ?? next.set(child.group, []).get(child.group)!).push(child);
      }
    open = next;
  }
  return out;
}

/** The buckets of `n` that hold a wanted rank: answered when the key is whole, else nodes for the next pass. */
function split(n: Node, gatherAt: number): Node[] {
  const d = DIGITS[n.digit]!;
  const hist = n.hist!;
  const byBucket = new Map<number, Wanted[]>();
  for (const w of n.wanted) {
    let below = 0;
    let b = 0;
    while (below + hist[b]! <= w.k) below += hist[b++]!;
    (byBucket.get(b) ?? byBucket.set(b, []).get(b)!).push({ ...w, k: w.k - below });
  }
  const children: Node[] = [];
  for (const [b, wanted] of byBucket) {
    const mask = n.mask.slice();
    const prefix = n.prefix.slice();
    mask[d.word] = (mask[d.word]! | (((1 << d.bits) - 1) << d.shift)) >>> 0;
    prefix[d.word] = (prefix[d.word]! | (b << d.shift)) >>> 0;
    if (n.digit + 1 === DIGITS.length) {
      const v = valueOf(prefix[0]!, prefix[1]!);
      for (const w of wanted) w.dist[w.key] = v;
      continue;
    }
    children.push(nodeOf(n.group, mask, prefix, n.digit + 1, hist[b]!, wanted, gatherAt));
  }
  return children;
}
