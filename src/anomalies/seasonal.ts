// A seasonal profile of one series: what each hour of the day (or of the week, or of any season that is a
// whole number of hours) usually holds, as the median of that hour's average over the last `seasons`
// seasons. robust --season scores each reading's difference from it, so a reading that is ordinary for
// the series but not for the hour (a night that stays as warm as the day, a pump running at 3 am) stands
// out, and the daily swing itself does not.
//
// Hours are UTC hours counted from the epoch (a season of 7d starts on a Thursday); the expected value
// between two hours is interpolated between their midpoints, so a smooth cycle leaves no step at the top
// of each hour. An hour is known once it holds an average from at least MIN_SEASONS seasons.

export const SLOT_MS = 3_600_000;
export const MIN_SEASONS = 3;

export class SeasonalProfile {
  private readonly slots: number;
  /** Per slot: the last `seasons` hourly averages (a ring), how many, where the next goes. */
  private readonly rings: Float64Array;
  private readonly counts: Int32Array;
  private readonly heads: Int32Array;
  /** The season index of the newest average per slot: an hour already known is not added twice. */
  private readonly lastSeason: Float64Array;
  /** Per slot: the median of its ring, recomputed when it changes (NaN: not known yet). */
  private readonly medians: Float64Array;
  private hour = NaN;
  private sum = 0;
  private n = 0;

  constructor(
    readonly seasonMs: number,
    readonly seasons: number,
  ) {
    this.slots = Math.round(seasonMs / SLOT_MS);
    this.rings = new Float64Array(this.slots * seasons);
    this.counts = new Int32Array(this.slots);
    this.heads = new Int32Array(this.slots);
    this.lastSeason = new Float64Array(this.slots).fill(-Infinity);
    this.medians = new Float64Array(this.slots).fill(NaN);
  }

  /** An hour's average, from the hour that starts at `hourStart` (read from rollups or from readings). */
  addHour(hourStart: number, average: number): void {
    const hour = Math.floor(hourStart / SLOT_MS);
    const slot = ((hour % this.slots) + this.slots) % this.slots;
    const season = Math.floor(hour / this.slots);
    if (season <= (this.lastSeason[slot] as number) || !Number.isFinite(average)) return;
    this.lastSeason[slot] = season;
    const at = slot * this.seasons + (this.heads[slot] as number);
    this.rings[at] = average;
    this.heads[slot] = ((this.heads[slot] as number) + 1) % this.seasons;
    const count = Math.min(this.seasons, (this.counts[slot] as number) + 1);
    this.counts[slot] = count;
    if (count < MIN_SEASONS) return;
    const values = Array.from(this.rings.subarray(slot * this.seasons, slot * this.seasons + count)).sort(
      (a, b) => a - b,
    );
    this.medians[slot] = ((values[(count - 1) >> 1] as number) + (values[count >> 1] as number)) / 2;
  }

  /** A reading, in time order: its hour's average joins the profile once the hour is over. */
  add(time: number, value: number): void {
    const hour = Math.floor(time / SLOT_MS);
    if (hour !== this.hour) {
      if (this.n > 0) this.addHour(this.hour * SLOT_MS, this.sum / this.n);
      this.hour = hour;
      this.sum = this.n = 0;
    }
    this.sum += value;
    this.n++;
  }

  /** What the profile expects at `time`; NaN while neither neighbouring hour is known. */
  expected(time: number): number {
    const hour = Math.floor(time / SLOT_MS);
    const slot = ((hour % this.slots) + this.slots) % this.slots;
    const f = (time - hour * SLOT_MS) / SLOT_MS;
    const other = f < 0.5 ? (slot + this.slots - 1) % this.slots : (slot + 1) % this.slots;
    const own = this.medians[slot] as number;
    const next = this.medians[other] as number;
    if (Number.isNaN(next)) return own;
    if (Number.isNaN(own)) return next;
    // Weight of the neighbour: 0.5 at the hour's edge, 0 at its midpoint.
    const w = Math.abs(f - 0.5);
    return own * (1 - w) + next * w;
  }
}
