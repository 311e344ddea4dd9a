// Incidents: consecutive flagged readings of a series, until the series has been normal for
// `closeAfter` readings in a row; then, with --group device, the overlapping incidents of one device
// merged into one.
import type { FaultKind, Verdict } from './method.js';

/** One series' incident, as it is being built. Times are ms since the epoch. */
export interface SeriesIncident {
  seriesId: number;
  /** The first and last flagged reading. */
  start: number;
  end: number;
  /** The reading at which the method first flagged it (after `start` when the fault began earlier). */
  detected: number;
  detectedInRange: boolean;
  peakTime: number;
  peakValue: number;
  /** The signed score at the peak (the flagged reading with the largest |score|). */
  score: number | null;
  readings: number;
  kinds: Set<FaultKind>;
  /** Still open at the end of the range: fewer than closeAfter normal readings after the last flagged one. */
  ongoing: boolean;
  /** Values from a few readings before the start to the close, for the sparkline (thinned when long). */
  trace: number[];
  /** The series' typical interval between readings (ms), for merging by time. */
  cadenceMs: number;
}

const CONTEXT = 8;
const MAX_TRACE = 256;

/** Builds one series' incidents from its judged readings, in time order. */
export class IncidentBuilder {
  private open: SeriesIncident | null = null;
  private quiet = 0;
  /** The last CONTEXT values before an incident, and the last 32 intervals between readings (rings). */
  private readonly before = new Float64Array(CONTEXT);
  private nBefore = 0;
  private readonly gaps = new Float64Array(32);
  private nGaps = 0;
  private lastTime = NaN;
  private baseline = 0;
  private stride = 1;
  private pending = 0;
  private pendingCount = 0;

  /**
   * `closeAfterMs`: for methods that only see their candidate readings (a prefilter), an incident also
   * closes when the next flagged reading comes more than this long after its last one.
   */
  constructor(
    private readonly seriesId: number,
    private readonly closeAfter: number,
    private readonly onClose: (incident: SeriesIncident) => void,
    private readonly closeAfterMs = Infinity,
  ) {}

  add(time: number, value: number, v: Verdict, inRange: boolean): void {
    if (this.open && time - this.open.end > this.closeAfterMs) this.close(false);
    if (!Number.isNaN(this.lastTime)) this.gaps[this.nGaps++ % this.gaps.length] = time - this.lastTime;
    this.lastTime = time;
    const inc = this.open;
    if (v.flagged) {
      const score = v.score ?? 0;
      if (!inc) {
        const onset = v.onset;
        this.baseline = v.baseline ?? value;
        this.stride = 1;
        this.pendingCount = 0;
        this.open = {
          seriesId: this.seriesId,
          start: onset ? onset.time : time,
          end: time,
          detected: time,
          detectedInRange: inRange,
          peakTime: time,
          peakValue: value,
          score: v.score,
          readings: 1 + (onset?.readings ?? 0),
          kinds: new Set(v.kind ? [v.kind] : []),
          ongoing: true,
          trace: [...this.context(), value],
          cadenceMs: 0,
        };
      } else {
        inc.end = time;
        inc.readings++;
        if (v.kind) inc.kinds.add(v.kind);
        if (Math.abs(score) > Math.abs(inc.score ?? 0)) {
          inc.score = v.score;
          inc.peakTime = time;
          inc.peakValue = value;
        }
        this.trace(inc, value);
      }
      this.quiet = 0;
    } else if (inc) {
      this.trace(inc, value);
      if (++this.quiet >= this.closeAfter) this.close(false);
    }
    if (!this.open) this.before[this.nBefore++ % CONTEXT] = value;
  }

  /** The end of the data (`until`): an incident still open is ongoing. */
  finish(until = Infinity): void {
    if (this.open) this.close(until - this.open.end <= this.closeAfterMs);
  }

  private close(ongoing: boolean): void {
    const inc = this.open as SeriesIncident;
    inc.ongoing = ongoing;
    inc.cadenceMs = Number.isFinite(this.closeAfterMs)
      ? this.closeAfterMs / this.closeAfter
      : median([...this.gaps.subarray(0, Math.min(this.nGaps, this.gaps.length))]);
    this.open = null;
    this.quiet = 0;
    this.nBefore = 0;
    this.onClose(inc);
  }

  private context(): number[] {
    const n = Math.min(this.nBefore, CONTEXT);
    return Array.from({ length: n }, (_, i) => this.before[(this.nBefore - n + i) % CONTEXT] as number);
  }

  /**
   * Appends to the trace. A long trace is halved, keeping of each pair the value further from the
   * baseline, and from then on one value is kept per `stride` readings, the furthest of them.
   */
  private trace(inc: SeriesIncident, value: number): void {
    const far = (a: number, b: number) =>
      Math.abs(a - this.baseline) >= Math.abs(b - this.baseline) ? a : b;
    this.pending = this.pendingCount ? far(this.pending, value) : value;
    if (++this.pendingCount < this.stride) return;
    const t = inc.trace;
    t.push(this.pending);
    this.pendingCount = 0;
    if (t.length < MAX_TRACE) return;
    for (let i = 0; i < t.length / 2; i++)
      t[i] = far(t[2 * i] as number, t[2 * i + 1] ?? (t[2 * i] as number));
    t.length = Math.ceil(t.length / 2);
    this.stride *= 2;
  }
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

export interface SeriesKey {
  device: string;
  metric: string;
  unit: string | null;
}

/** One reported incident: of one series, or with --group device of one device across its metrics. */
export interface Incident {
  device: string;
  metrics: string[];
  start: number;
  end: number;
  detected: number;
  detectedInRange: boolean;
  peakTime: number;
  peakMetric: string;
  peakValue: number;
  unit: string | null;
  score: number | null;
  readings: number;
  kinds: FaultKind[];
  ongoing: boolean;
  trace: number[];
}

/**
 * Reported incidents in start order per device: per series, or (`byDevice`) merged per device where
 * they overlap in time, counting as overlapping an incident that starts within `closeAfter` readings
 * of another's end. The peak is the member with the largest |score|.
 */
export function reportIncidents(
  incidents: SeriesIncident[],
  series: Map<number, SeriesKey>,
  opts: { byDevice: boolean; closeAfter: number },
): Incident[] {
  const groups = new Map<string, SeriesIncident[]>();
  for (const inc of incidents) {
    const s = series.get(inc.seriesId) as SeriesKey;
    const key = opts.byDevice ? s.device : `${inc.seriesId}`;
    const list = groups.get(key);
    if (list) list.push(inc);
    else groups.set(key, [inc]);
  }
  const out: Incident[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => a.start - b.start);
    let cur: { members: SeriesIncident[]; reach: number } | null = null;
    const flush = () => cur && out.push(merged(cur.members, series));
    for (const inc of list) {
      const reach = inc.end + opts.closeAfter * inc.cadenceMs;
      if (cur && inc.start <= cur.reach) {
        cur.members.push(inc);
        cur.reach = Math.max(cur.reach, reach);
      } else {
        flush();
        cur = { members: [inc], reach };
      }
    }
    flush();
  }
  // Devices in the order the series came (device, metric), each device's incidents by start.
  const order = new Map<string, number>();
  for (const s of series.values()) if (!order.has(s.device)) order.set(s.device, order.size);
  return out.sort(
    (a, b) => (order.get(a.device) as number) - (order.get(b.device) as number) || a.start - b.start,
  );
}

function merged(members: SeriesIncident[], series: Map<number, SeriesKey>): Incident {
  const peak = members.reduce((a, b) => (Math.abs(b.score ?? 0) > Math.abs(a.score ?? 0) ? b : a));
  const first = members.reduce((a, b) => (b.detected < a.detected ? b : a));
  const key = series.get(peak.seriesId) as SeriesKey;
  const metrics = [...new Set(members.map((m) => (series.get(m.seriesId) as SeriesKey).metric))];
  return {
    device: key.device,
    metrics,
    start: Math.min(...members.map((m) => m.start)),
    end: Math.max(...members.map((m) => m.end)),
    detected: first.detected,
    detectedInRange: first.detectedInRange,
    peakTime: peak.peakTime,
    peakMetric: key.metric,
    peakValue: peak.peakValue,
    unit: key.unit,
    score: peak.score,
    readings: members.reduce((n, m) => n + m.readings, 0),
    kinds: [...new Set(members.flatMap((m) => [...m.kinds]))].sort(),
    ongoing: members.some((m) => m.ongoing),
    trace: peak.trace,
  };
}
