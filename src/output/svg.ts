// Charts as self-contained SVG files (`--chart out.svg`): lines, interval bands, shaded spans and marked
// points over a time axis, with nice ticks, the unit, a title and a legend. Pure: specs in, text out.

/** Colours in the order series first appear (Tableau 10: told apart in print and by most colour-blind eyes). */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

/** Legend rows at most; past it the last row says "+N more". */
export const LEGEND_MAX = 14;

export type Dash = 'solid' | 'dashed' | 'dotted';
const DASH: Record<Dash, string | null> = { solid: null, dashed: '6 4', dotted: '1.5 3' };

export interface ChartLine {
  /** Lines with the same key share a colour (one series, several aggregates). */
  key: string;
  label: string;
  dash?: Dash;
  /** In time order; a null value breaks the line. */
  points: Array<{ t: number; v: number | null }>;
}

export interface ChartBand {
  key: string;
  label: string;
  opacity: number;
  points: Array<{ t: number; lo: number; hi: number }>;
}

export interface ChartSpan {
  key: string;
  label: string;
  from: number;
  to: number;
}

export interface ChartMarker {
  key: string;
  t: number;
  v: number;
}

export interface SvgChartSpec {
  title: string;
  /** Under the title, smaller: the range, what was left out. */
  subtitle?: string;
  /** The y axis' unit: one unit, null when iotctl knows none, or several (each line's label then says its own). */
  units: Array<string | null>;
  /** What the y values are (`avg per 1h`, `value`). */
  yLabel: string;
  /** The time axis; default the extent of the data. */
  domain?: { from: number; to: number };
  lines: ChartLine[];
  bands?: ChartBand[];
  spans?: ChartSpan[];
  markers?: ChartMarker[];
  /** The legend's name for the markers and the spans. */
  markerLabel?: string;
  spanLabel?: string;
  /** Entries not drawn (series over the cap), said as "+N more series not drawn" in the legend. */
  notDrawn?: number;
}

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

/** Characters XML 1.0 does not allow at all (control characters other than tab and line breaks). */
// eslint-disable-next-line no-control-regex -- matching them is the point
const notXml = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const text = (s: string) => escapeXml(s.replace(notXml, '\ufffd'));

/** Ticks at 1, 2 or 5 times a power of ten, about `count` of them, covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 6): { ticks: number[]; step: number } {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return niceTicks(lo - pad, hi + pad, count);
  }
  const raw = (hi - lo) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag) as number;
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v < hi + step * (1 - 1e-9); v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < hi) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return { ticks, step };
}

/** A y tick label: as many decimals as the step needs, no float noise. */
export function formatTick(v: number, step: number): string {
  const decimals = Math.max(
    0,
    Math.min(10, -Math.floor(Math.log10(step) + 1e-9) + (step % 1 === 0.5 ? 1 : 0)),
  );
  const abs = Math.abs(v);
  if (abs >= 1e6 || (abs > 0 && abs < 1e-4)) return v.toExponential(2).replace('e+', 'e');
  return (Object.is(v, -0) ? 0 : v).toFixed(decimals).replace(/^-(0\.?0*)$/, '$1');
}

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Time steps in ms; months and years are calendar steps, below. */
const TIME_STEPS = [
  SEC,
  2 * SEC,
  5 * SEC,
  10 * SEC,
  15 * SEC,
  30 * SEC,
  MIN,
  2 * MIN,
  5 * MIN,
  10 * MIN,
  15 * MIN,
  30 * MIN,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
];
const MONTH_STEPS = [1, 2, 3, 6, 12, 24, 60, 120];

export interface TimeTick {
  t: number;
  /** One or two lines: the time, and the date where it changes. */
  label: string[];
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * Ticks on round times of the zone (UTC unless `offsetMs` gives a zone's offset at an instant): about
 * `count` of them, on whole seconds, minutes, hours, days, Mondays, months or years, labelled by what
 * changes (the date is shown at the first tick and wherever it changes).
 */
export function timeTicks(
  from: number,
  to: number,
  count = 7,
  offsetMs: (t: number) => number = () => 0,
): TimeTick[] {
  const span = Math.max(to - from, SEC);
  // The round step whose number of ticks is nearest to count (by ratio); months are about 30.44 days.
  const MONTH = 30.44 * DAY;
  const candidates = [
    ...TIME_STEPS.map((ms) => ({ ms, months: 0 })),
    ...MONTH_STEPS.map((m) => ({ ms: m * MONTH, months: m })),
  ];
  const best = candidates.reduce((a, b) =>
    Math.abs(Math.log(span / b.ms / count)) < Math.abs(Math.log(span / a.ms / count)) ? b : a,
  );
  const step = best.months ? undefined : best.ms;
  const local = (t: number) => new Date(t + offsetMs(t));
  const ticks: number[] = [];
  if (step !== undefined) {
    // Round in local time: a tick at local midnight is the UTC instant minus the offset.
    const off = offsetMs(from);
    const weekly = step >= 7 * DAY;
    // Mondays for weekly steps (1970-01-05 was a Monday).
    const origin = weekly ? 4 * DAY : 0;
    let t = Math.ceil((from + off - origin) / step) * step + origin - off;
    for (; t <= to && ticks.length < 1000; t += step) ticks.push(t);
  } else {
    const months = best.months;
    const d = local(from);
    // From the start of the step's period holding `from`, in local months.
    let index = Math.floor((d.getUTCFullYear() * 12 + d.getUTCMonth()) / months) * months;
    for (; ticks.length < 1000; index += months) {
      const guess = Date.UTC(Math.floor(index / 12), index % 12, 1);
      const t = guess - offsetMs(guess);
      if (t > to) break;
      if (t >= from) ticks.push(t);
    }
  }
  const spanYears = local(from).getUTCFullYear() !== local(to).getUTCFullYear();
  let prevDate = '';
  return ticks.map((t) => {
    const d = local(t);
    const date = `${spanYears ? `${d.getUTCFullYear()}-` : ''}${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
    const hm = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
    let label: string[];
    if (step === undefined) label = [`${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}`];
    else if (step >= DAY) label = [date];
    else {
      const time = step < MIN ? `${hm}:${pad2(d.getUTCSeconds())}` : hm;
      label = date !== prevDate ? [time, date] : [time];
    }
    prevDate = date;
    return { t, label };
  });
}

/** First, lowest, highest and last point of each pixel column: the line keeps its shape at any density. */
export function reduceToColumns(
  points: Array<{ t: number; v: number | null }>,
  xOf: (t: number) => number,
): Array<{ t: number; v: number | null }> {
  const out: Array<{ t: number; v: number | null }> = [];
  let col = NaN;
  let bucket: Array<{ t: number; v: number }> = [];
  const flush = () => {
    if (!bucket.length) return;
    if (bucket.length <= 4) out.push(...bucket);
    else {
      let lo = bucket[0]!;
      let hi = bucket[0]!;
      for (const p of bucket) {
        if (p.v < lo.v) lo = p;
        if (p.v > hi.v) hi = p;
      }
      const keep = new Set([bucket[0]!, lo, hi, bucket[bucket.length - 1]!]);
      out.push(...bucket.filter((p) => keep.has(p)));
    }
    bucket = [];
  };
  for (const p of points) {
    if (p.v === null || !Number.isFinite(p.v)) {
      flush();
      out.push({ t: p.t, v: null });
      col = NaN;
      continue;
    }
    const c = Math.floor(xOf(p.t));
    if (c !== col) {
      flush();
      col = c;
    }
    bucket.push({ t: p.t, v: p.v });
  }
  flush();
  return out;
}

const num = (v: number) => String(Math.round(v * 10) / 10);

interface LegendEntry {
  kind: 'line' | 'band' | 'span' | 'marker';
  label: string;
  colour?: string;
  dash?: Dash;
  opacity?: number;
}

/** Cuts a label to `max` characters with an ellipsis (the full text stays in the entry's <title>). */
const cut = (s: string, max: number) => (s.length > max ? s.slice(0, max - 1) + '…' : s);

export function renderSvgChart(spec: SvgChartSpec, size = { width: 960, height: 480 }): string {
  const { width, height } = size;
  const margin = { top: spec.subtitle ? 58 : 44, right: 250, bottom: 58, left: 72 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const colourOf = new Map<string, string>();
  const colour = (key: string) => {
    let c = colourOf.get(key);
    if (!c) colourOf.set(key, (c = PALETTE[colourOf.size % PALETTE.length] as string));
    return c;
  };
  for (const l of spec.lines) colour(l.key);
  for (const b of spec.bands ?? []) colour(b.key);

  // Extents: every drawn value and time, so nothing is clipped.
  let tLo = Infinity;
  let tHi = -Infinity;
  let vLo = Infinity;
  let vHi = -Infinity;
  const seeT = (t: number) => {
    if (t < tLo) tLo = t;
    if (t > tHi) tHi = t;
  };
  const seeV = (v: number) => {
    if (!Number.isFinite(v)) return;
    if (v < vLo) vLo = v;
    if (v > vHi) vHi = v;
  };
  for (const l of spec.lines)
    for (const p of l.points) {
      seeT(p.t);
      if (p.v !== null) seeV(p.v);
    }
  for (const b of spec.bands ?? [])
    for (const p of b.points) {
      seeT(p.t);
      seeV(p.lo);
      seeV(p.hi);
    }
  for (const m of spec.markers ?? []) {
    seeT(m.t);
    seeV(m.v);
  }
  if (spec.domain) {
    tLo = spec.domain.from;
    tHi = spec.domain.to;
  }
  const noData = !(vLo <= vHi);
  if (noData) {
    vLo = 0;
    vHi = 1;
  }
  if (!(tLo < tHi)) {
    const t = Number.isFinite(tLo) ? tLo : 0;
    tLo = t - HOUR;
    tHi = t + HOUR;
  }
  // A little headroom, so a marker or a peak on the extreme is not cut by the plot's edge.
  const pad = (vHi - vLo) * 0.03;
  const y = niceTicks(vLo - pad, vHi + pad, Math.max(3, Math.round(plotH / 60)));
  const yMin = y.ticks[0] as number;
  const yMax = y.ticks[y.ticks.length - 1] as number;
  const xOf = (t: number) => margin.left + ((t - tLo) / (tHi - tLo)) * plotW;
  const yOf = (v: number) => margin.top + ((yMax - v) / (yMax - yMin)) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<title>${text(spec.title)}</title>`);
  out.push(`<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text class="title" x="${margin.left}" y="24" font-size="16" font-weight="bold" fill="#222">${text(spec.title)}</text>`,
  );
  if (spec.subtitle)
    out.push(`<text class="subtitle" x="${margin.left}" y="42" fill="#555">${text(spec.subtitle)}</text>`);
  const clip = `<clipPath id="plot"><rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}"/></clipPath>`;
  out.push(`<defs>${clip}</defs>`);

  // Shaded spans (incidents) behind everything else.
  const spans = spec.spans ?? [];
  if (spans.length) {
    out.push('<g class="spans" clip-path="url(#plot)">');
    for (const s of spans) {
      const x0 = Math.max(margin.left, xOf(s.from));
      const x1 = Math.min(margin.left + plotW, xOf(s.to));
      // At least 3 px, so a one-reading incident is still seen.
      const w = Math.max(3, x1 - x0);
      out.push(
        `<rect class="span" x="${num(x0)}" y="${margin.top}" width="${num(w)}" height="${plotH}" fill="${colour(s.key)}" fill-opacity="0.18" data-from="${new Date(s.from).toISOString()}" data-to="${new Date(s.to).toISOString()}"><title>${text(s.label)}</title></rect>`,
      );
    }
    out.push('</g>');
  }

  // Grid and axes.
  out.push('<g class="axis y">');
  for (const v of y.ticks) {
    const py = num(yOf(v));
    out.push(
      `<line class="grid" x1="${margin.left}" x2="${margin.left + plotW}" y1="${py}" y2="${py}" stroke="#e5e5e5"/>`,
      `<text class="tick" x="${margin.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle" fill="#333">${text(formatTick(v, y.step))}</text>`,
    );
  }
  const units = [...new Set(spec.units)];
  const unitText =
    units.length === 1 ? (units[0] === null ? '' : ` (${units[0]})`) : ' (units in the legend)';
  out.push(
    `<text class="label" transform="translate(16 ${num(margin.top + plotH / 2)}) rotate(-90)" text-anchor="middle" fill="#333">${text(spec.yLabel + unitText)}</text>`,
  );
  out.push(
    `<line class="axis-line" x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#333"/>`,
  );
  out.push('</g>');
  out.push('<g class="axis x">');
  for (const tick of timeTicks(tLo, tHi, Math.max(3, Math.round(plotW / 110)))) {
    const px = num(xOf(tick.t));
    out.push(
      `<line class="tick-mark" x1="${px}" x2="${px}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 5}" stroke="#333"/>`,
    );
    out.push(
      `<text class="tick" x="${px}" y="${margin.top + plotH + 18}" text-anchor="middle" fill="#333" data-time="${new Date(tick.t).toISOString()}">${tick.label
        .map((l, i) => `<tspan x="${px}" dy="${i === 0 ? 0 : 14}">${text(l)}</tspan>`)
        .join('')}</text>`,
    );
  }
  out.push(
    `<line class="axis-line" x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<text class="label" x="${num(margin.left + plotW / 2)}" y="${height - 8}" text-anchor="middle" fill="#333">time (UTC)</text>`,
  );
  out.push('</g>');

  // Bands (prediction intervals), then lines, then markers.
  const bands = spec.bands ?? [];
  if (bands.length) {
    out.push('<g class="bands" clip-path="url(#plot)">');
    for (const b of bands) {
      if (!b.points.length) continue;
      const top = b.points.map((p) => `${num(xOf(p.t))},${num(yOf(p.hi))}`);
      const bottom = b.points
        .slice()
        .reverse()
        .map((p) => `${num(xOf(p.t))},${num(yOf(p.lo))}`);
      out.push(
        `<path class="band" d="M${top.join('L')}L${bottom.join('L')}Z" fill="${colour(b.key)}" fill-opacity="${b.opacity}" stroke="none"><title>${text(b.label)}</title></path>`,
      );
    }
    out.push('</g>');
  }
  out.push('<g class="lines" clip-path="url(#plot)">');
  for (const l of spec.lines) {
    // First, lowest, highest and last per pixel: the same picture as every point.
    const pts = reduceToColumns(l.points, xOf);
    let d = '';
    let pen = false;
    for (const p of pts) {
      if (p.v === null) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${num(xOf(p.t))},${num(yOf(p.v))}`;
      pen = true;
    }
    const dash = DASH[l.dash ?? 'solid'];
    out.push(
      `<path class="line" data-label="${text(l.label)}" d="${d || 'M0,0'}" fill="none" stroke="${colour(l.key)}" stroke-width="1.5" stroke-linejoin="round"${dash ? ` stroke-dasharray="${dash}"` : ''}${d ? '' : ' visibility="hidden"'}><title>${text(l.label)}</title></path>`,
    );
  }
  out.push('</g>');
  const markers = spec.markers ?? [];
  if (markers.length) {
    out.push('<g class="markers" clip-path="url(#plot)">');
    const seen = new Set<string>();
    for (const m of markers) {
      // One circle per pixel: a stuck sensor's thousand flagged readings are one run of dots, not a thousand.
      const at = `${Math.round(xOf(m.t))},${Math.round(yOf(m.v))}`;
      if (seen.has(at)) continue;
      seen.add(at);
      out.push(
        `<circle class="marker" cx="${num(xOf(m.t))}" cy="${num(yOf(m.v))}" r="3" fill="#d62728" stroke="#fff" stroke-width="0.8" data-time="${new Date(m.t).toISOString()}"/>`,
      );
    }
    out.push('</g>');
  }
  if (noData)
    out.push(
      `<text class="empty" x="${num(margin.left + plotW / 2)}" y="${num(margin.top + plotH / 2)}" text-anchor="middle" fill="#777">no data</text>`,
    );

  // Legend: one row per line and band, then the spans and markers, capped with "+N more".
  const entries: LegendEntry[] = [
    ...spec.lines.map((l): LegendEntry => ({
      kind: 'line',
      label: l.label,
      colour: colour(l.key),
      dash: l.dash,
    })),
    ...bands.map((b): LegendEntry => ({
      kind: 'band',
      label: b.label,
      colour: colour(b.key),
      opacity: b.opacity,
    })),
  ];
  if (spans.length) entries.push({ kind: 'span', label: spec.spanLabel ?? 'shaded', colour: '#888' });
  if (markers.length)
    entries.push({ kind: 'marker', label: spec.markerLabel ?? 'marked', colour: '#d62728' });
  let shown = entries;
  let more = 0;
  if (entries.length > LEGEND_MAX) {
    shown = entries.slice(0, LEGEND_MAX - 1);
    more = entries.length - shown.length;
  }
  const notes = [
    ...(more > 0 ? [`+${more} more`] : []),
    ...(spec.notDrawn ? [`+${spec.notDrawn} more series not drawn`] : []),
  ];
  const lx = margin.left + plotW + 16;
  out.push('<g class="legend">');
  shown.forEach((e, i) => {
    const ly = margin.top + 8 + i * 20;
    let swatch: string;
    if (e.kind === 'line') {
      const dash = DASH[e.dash ?? 'solid'];
      swatch = `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${e.colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;
    } else if (e.kind === 'marker') swatch = `<circle cx="${lx + 11}" cy="${ly}" r="3" fill="${e.colour}"/>`;
    else
      swatch = `<rect x="${lx}" y="${ly - 6}" width="22" height="12" fill="${e.colour}" fill-opacity="${e.opacity ?? 0.3}"/>`;
    out.push(
      `<g class="entry" data-kind="${e.kind}">${swatch}<text x="${lx + 28}" y="${ly}" dominant-baseline="middle" fill="#222">${text(cut(e.label, 30))}</text><title>${text(e.label)}</title></g>`,
    );
  });
  notes.forEach((note, i) =>
    out.push(
      `<text class="more" x="${lx}" y="${margin.top + 8 + (shown.length + i) * 20}" dominant-baseline="middle" fill="#555">${text(note)}</text>`,
    ),
  );
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}
