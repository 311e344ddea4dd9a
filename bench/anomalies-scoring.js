// Each anomaly method's scoring alone, in CPU time: the values bench/query.js loads (1,000 series x 10,080
// readings, 5 minutes apart) generated in memory and pushed through a fresh scorer per series, slice by
// slice as the command does, flagged readings kept as `--points` keeps them. No database.
// Usage: npm run build && node bench/anomalies-scoring.js
//   env: SERIES=1000 RUNS=2 METHODS=range,roc,mad,iqr,zscore,robust
//        DIST=<another build's dist folder> (to compare with an older build)
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = pathToFileURL(
  path.resolve(process.env.DIST ?? new URL('../dist', import.meta.url).pathname),
).href;
const { withDefaults } = await import(`${dist}/anomalies/detect.js`);
const { anomalyMethod } = await import(`${dist}/anomalies/methods/index.js`);
const { parseDuration } = await import(`${dist}/util/duration.js`);
const S = Number(process.env.SERIES ?? 1000),
  N = 10080,
  step = 300000;
const end = 1796190600000,
  start = end - N * step;
const SL = 500; // readings per series per slice
const slices = [];
for (let a = 0; a < N; a += SL) {
  const parts = [];
  for (let id = 1; id <= S; id++) {
    const n = Math.min(SL, N - a);
    const times = new Float64Array(n),
      values = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const t = start + (a + j) * step;
      times[j] = t;
      values[j] =
        20 + 3 * Math.sin(t / 1000 / 13751) + (id % 7) + ((id * 31 + Math.floor(t / 60000)) % 11) / 20;
    }
    parts.push({ id, times, values });
  }
  slices.push(parts);
}
const params = {
  range: { min: 0, max: 40 },
  roc: { maxStep: 3 },
  mad: {},
  iqr: {},
  zscore: { baseline: parseDuration('24h') },
  robust: {},
};
const since = start;
for (const name of (process.env.METHODS ?? 'range,roc,mad,iqr,zscore,robust').split(',')) {
  const m = anomalyMethod(name);
  const o = withDefaults(m, {
    method: name,
    filter: {},
    range: { since: new Date(since), until: new Date(end) },
    ...params[name],
  });
  const times = [];
  let flagged = 0;
  for (let r = 0; r < Number(process.env.RUNS ?? 2); r++) {
    const c0 = process.cpuUsage();
    const scorers = new Map();
    for (let id = 1; id <= S; id++) scorers.set(id, m.scorer(o));
    const rows = [];
    flagged = 0;
    const emit = (time, value, v, inRange) => {
      if (!v.flagged || !inRange) return;
      flagged++;
      rows.push({ time: new Date(time), value, baseline: v.baseline, score: v.score });
    };
    for (const slice of slices)
      for (const part of slice) {
        const sc = scorers.get(part.id);
        const { times: ts, values: vs } = part;
        for (let i = 0; i < ts.length; i++) sc.push(ts[i], vs[i], ts[i] >= since, emit);
      }
    for (const sc of scorers.values()) sc.finish?.(emit);
    {
      const c = process.cpuUsage(c0);
      times.push((c.user + c.system) / 1000);
    }
  }
  console.log(
    `${name.padEnd(7)} ${times.map((t) => (t / 1000).toFixed(2)).join(' ')} s of CPU  ${flagged} flagged`,
  );
}
