/**
 * Statistics of the Gaussians (the PLY's vertex records), accumulated one Gaussian at a time with
 * no allocation per Gaussian.
 *
 * Keys (flat numbers for the record's open `gaussian_stats` object); a property absent from the
 * file gives no keys:
 * - `opacity_*`, `scale_{0,1,2}_*`, `f_dc_{0,1,2}_*` with `_mean _std _min _max` of the raw stored
 *   values (`opacity_mean` is the spec's raw logit mean); std is the population std (divide by n),
 *   computed with Welford's update in float64.
 * - `opacity_activated_mean`: mean of sigmoid(opacity); `scale_{i}_activated_mean`: mean of exp(scale_i).
 * - `near_transparent_share`: share of Gaussians with sigmoid(opacity) < 0.05 (NEAR_TRANSPARENT_OPACITY).
 * - `bbox_{min,max}_{x,y,z}` and `extent_{x,y,z}` = max - min of the centres.
 * - `nan_count`: Gaussians with a NaN or ±Infinity in any measured property (x y z opacity scale_*
 *   f_dc_*). Such a Gaussian is left out of every other statistic (it cannot be rendered, and one NaN
 *   would turn every mean into NaN), so an operator sees both how many are broken and the figures of
 *   the rest. When no Gaussian is finite, `nan_count` is the only key.
 * A figure that overflows float64 (exp of a huge log-scale) is left out rather than stored as Infinity,
 * which JSON cannot carry.
 */

/** The vertex properties we read, in slot order; every other property is skipped. */
export const MEASURED = [
  'x',
  'y',
  'z',
  'opacity',
  'scale_0',
  'scale_1',
  'scale_2',
  'f_dc_0',
  'f_dc_1',
  'f_dc_2',
] as const;
const X = 0;
const OPACITY = 3;
const SCALE = 4;
/** Slots with mean/std/min/max keys (the centres only give the bounding box). */
const MOMENT_SLOTS = [3, 4, 5, 6, 7, 8, 9];

/** sigmoid(opacity) below this counts as near-transparent. */
export const NEAR_TRANSPARENT_OPACITY = 0.05;

export type GaussianStats = Record<string, number>;

export class GaussianAccumulator {
  /** Values of the current Gaussian, by slot; the reader fills the present slots then calls add(). */
  readonly values = new Float64Array(MEASURED.length);
  private readonly slots: Int32Array;
  private n = 0;
  private nonFinite = 0;
  private readonly mean = new Float64Array(MEASURED.length);
  private readonly m2 = new Float64Array(MEASURED.length);
  private readonly min = new Float64Array(MEASURED.length).fill(Infinity);
  private readonly max = new Float64Array(MEASURED.length).fill(-Infinity);
  private sigmoidSum = 0;
  private nearTransparent = 0;
  private readonly expSum = new Float64Array(3);

  /** `present[slot]` says whether the file has that property. */
  constructor(private readonly present: readonly boolean[]) {
    this.slots = Int32Array.from(present.flatMap((p, i) => (p ? [i] : [])));
  }

  add(): void {
    const v = this.values;
    const slots = this.slots;
    for (let k = 0; k < slots.length; k++) {
      const x = v[slots[k]!]!;
      // x - x is NaN for NaN and ±Infinity: one test for both.
      if (x - x !== 0) {
        this.nonFinite++;
        return;
      }
    }
    const inv = 1 / ++this.n;
    for (let k = 0; k < slots.length; k++) {
      const s = slots[k]!;
      const x = v[s]!;
      const d = x - this.mean[s]!;
      this.mean[s]! += d * inv;
      this.m2[s]! += d * (x - this.mean[s]!);
      if (x < this.min[s]!) this.min[s] = x;
      if (x > this.max[s]!) this.max[s] = x;
    }
    if (this.present[OPACITY]) {
      const a = 1 / (1 + Math.exp(-v[OPACITY]!));
      this.sigmoidSum += a;
      if (a < NEAR_TRANSPARENT_OPACITY) this.nearTransparent++;
    }
    for (let i = 0; i < 3; i++) if (this.present[SCALE + i]) this.expSum[i]! += Math.exp(v[SCALE + i]!);
  }

  result(): GaussianStats {
    const out: GaussianStats = {};
    const put = (key: string, value: number) => {
      if (Number.isFinite(value)) out[key] = value;
    };
    const n = this.n;
    if (n > 0) {
      for (const s of MOMENT_SLOTS) {
        if (!this.present[s]) continue;
        const name = MEASURED[s]!;
        put(`${name}_mean`, this.mean[s]!);
        put(`${name}_std`, Math.sqrt(this.m2[s]! / n));
        put(`${name}_min`, this.min[s]!);
        put(`${name}_max`, this.max[s]!);
        if (s === OPACITY) {
          put('opacity_activated_mean', this.sigmoidSum / n);
          put('near_transparent_share', this.nearTransparent / n);
        } else if (s >= SCALE && s < SCALE + 3) {
          put(`${name}_activated_mean`, this.expSum[s - SCALE]! / n);
        }
      }
      for (let i = 0; i < 3; i++) {
        const s = X + i;
        if (!this.present[s]) continue;
        const axis = MEASURED[s]!;
        put(`bbox_min_${axis}`, this.min[s]!);
        put(`bbox_max_${axis}`, this.max[s]!);
        put(`extent_${axis}`, this.max[s]! - this.min[s]!);
      }
    }
    out.nan_count = this.nonFinite;
    return out;
  }
}
