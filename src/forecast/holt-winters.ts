// Additive Holt-Winters (ETS(A,Ad,A) in error-correction form) with a damped trend: the smoothing
// parameters fitted by minimising the one-step squared error (Nelder-Mead), prediction intervals from the
// one-step residual variance grown the way the model's own h-step variance grows (Hyndman et al. 2008,
// "Forecasting with Exponential Smoothing", class 1: var_h = σ²(1 + Σ_{j<h} c_j²), c_j = α + βφ_j + γ[j ≡ 0 mod m]).
//
// Series are dense arrays of bucket values with NaN for a missing bucket; a missing value is filled by the
// model's own one-step estimate (level + damped trend + season), so it moves nothing and adds no error.

export interface HwParams {
  /** Level smoothing, 0..1. */
  alpha: number;
  /** Trend smoothing in the classical form (β* = β/α), 0..1. */
  beta: number;
  /** Seasonal smoothing in the classical form (γ* = γ/(1-α)), 0..1; 0 without a season. */
  gamma: number;
  /** Trend damping, PHI_MIN..PHI_MAX. */
  phi: number;
}

export interface HwFit {
  /** Season length in buckets; 1 = no season (Holt's damped trend). */
  period: number;
  params: HwParams;
  /** Sum of squared one-step errors over the known buckets, and how many there were. */
  sse: number;
  n: number;
  /** One-step residual variance (sse / n). */
  sigma2: number;
  /** AIC = n ln(sse/n) + 2k, k = smoothing parameters + initial states (level, trend, period seasonals). */
  aic: number;
  /** One-step fitted value per bucket (NaN before the first). */
  fitted: Float64Array;
  /** State after the last bucket. */
  level: number;
  trend: number;
  /** The last `period` seasonal terms, oldest first (seasonal[k] belongs to bucket n - period + k). */
  seasonal: Float64Array;
}

export interface HwForecastPoint {
  forecast: number;
  lo80: number;
  hi80: number;
  lo95: number;
  hi95: number;
}

export const PHI_MIN = 0.8;
export const PHI_MAX = 0.98;
/** Normal quantiles of the two-sided 80% and 95% intervals. */
const Z80 = 1.2815515655446004;
const Z95 = 1.959963984540054;

/** Buckets a fit needs at least: two seasons (the seasonal start values) plus one, or MIN_PLAIN without one. */
export const MIN_PLAIN = 10;
export const minBuckets = (period: number) => (period > 1 ? 2 * period + 1 : MIN_PLAIN);

interface Internal {
  alpha: number;
  /** Error-correction form: beta = β*·α, gamma = γ*·(1-α). */
  beta: number;
  gamma: number;
  phi: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(p / (1 - p));

/** Unconstrained point → parameters inside the admissible region (0 < β < α, 0 < γ < 1 - α). */
function decode(x: number[], seasonal: boolean): Internal {
  const alpha = 0.0001 + 0.9998 * sigmoid(x[0] as number);
  const betaStar = sigmoid(x[1] as number);
  const gammaStar = seasonal ? sigmoid(x[2] as number) : 0;
  const phi = PHI_MIN + (PHI_MAX - PHI_MIN) * sigmoid(x[3] as number);
  return { alpha, beta: betaStar * alpha, gamma: gammaStar * (1 - alpha), phi };
}

/** Start values: level and trend from the first two seasons' means, seasonals from the first seasons' deviations. */
function initialState(y: Float64Array, period: number): { level: number; trend: number; seasonal: number[] } {
  const mean = (from: number, to: number) => {
    let s = 0;
    let k = 0;
    for (let i = from; i < to && i < y.length; i++) {
      const v = y[i] as number;
      if (!Number.isNaN(v)) {
        s += v;
        k++;
      }
    }
    return k ? s / k : NaN;
  };
  const span = period > 1 ? period : Math.min(5, Math.floor(y.length / 2));
  const m1 = mean(0, span);
  let m2 = mean(span, 2 * span);
  if (Number.isNaN(m2)) m2 = m1;
  const trend = (m2 - m1) / span;
  // The level one step before the first bucket: the first season's mean, at its middle, moved back.
  const level = m1 - trend * ((span + 1) / 2);
  const seasonal = new Array<number>(period).fill(0);
  if (period > 1) {
    const seasons = Math.max(1, Math.min(4, Math.floor(y.length / period)));
    const sums = new Array<number>(period).fill(0);
    const counts = new Array<number>(period).fill(0);
    for (let j = 0; j < seasons; j++) {
      const mj = mean(j * period, (j + 1) * period);
      if (Number.isNaN(mj)) continue;
      for (let k = 0; k < period; k++) {
        const v = y[j * period + k] as number;
        if (Number.isNaN(v)) continue;
        // The deviation from the season's mean, with the trend within the season taken out.
        sums[k] = (sums[k] as number) + v - (mj + trend * (k - (period - 1) / 2));
        counts[k] = (counts[k] as number) + 1;
      }
    }
    for (let k = 0; k < period; k++)
      seasonal[k] = counts[k] ? (sums[k] as number) / (counts[k] as number) : 0;
    const avg = seasonal.reduce((a, b) => a + b, 0) / period;
    for (let k = 0; k < period; k++) seasonal[k] = (seasonal[k] as number) - avg;
  }
  return { level, trend, seasonal };
}

/** Runs the filter; returns the SSE and, when `keep`, the fitted values and the final state. */
function run(
  y: Float64Array,
  period: number,
  p: Internal,
  keep: boolean,
): { sse: number; n: number; fitted?: Float64Array; level: number; trend: number; seasonal: Float64Array } {
  const init = initialState(y, period);
  let level = init.level;
  let trend = init.trend;
  // A ring of the last `period` seasonals: s[t mod period] is the one of bucket t - period.
  const s = Float64Array.from(init.seasonal);
  const fitted = keep ? new Float64Array(y.length) : undefined;
  let sse = 0;
  let n = 0;
  for (let t = 0; t < y.length; t++) {
    const k = t % period;
    const season = period > 1 ? (s[k] as number) : 0;
    const yhat = level + p.phi * trend + season;
    if (fitted) fitted[t] = yhat;
    const v = y[t] as number;
    const e = Number.isNaN(v) ? 0 : v - yhat;
    if (!Number.isNaN(v)) {
      sse += e * e;
      n++;
    }
    level = level + p.phi * trend + p.alpha * e;
    trend = p.phi * trend + p.beta * e;
    if (period > 1) s[k] = season + p.gamma * e;
  }
  // Oldest first: the seasonal of bucket y.length - period + j is s[(y.length + j) % period].
  const seasonal = new Float64Array(period);
  for (let j = 0; j < period; j++) seasonal[j] = s[(y.length + j) % period] as number;
  return { sse, n, fitted, level, trend, seasonal };
}

/** A small Nelder-Mead minimiser (standard coefficients), for the 3-4 smoothing parameters. */
export function nelderMead(f: (x: number[]) => number, start: number[], step = 1, maxEvals = 400): number[] {
  const dim = start.length;
  let simplex: Array<{ x: number[]; v: number }> = [{ x: start, v: f(start) }];
  for (let i = 0; i < dim; i++) {
    const x = start.slice();
    x[i] = (x[i] as number) + step;
    simplex.push({ x, v: f(x) });
  }
  let evals = dim + 1;
  const combine = (a: number[], b: number[], t: number) => a.map((ai, i) => ai + t * ((b[i] as number) - ai));
  while (evals < maxEvals) {
    simplex.sort((a, b) => a.v - b.v);
    const best = simplex[0]!;
    const worst = simplex[dim]!;
    if (Math.abs(worst.v - best.v) <= 1e-10 * (Math.abs(best.v) + 1e-12)) break;
    const centroid = new Array<number>(dim).fill(0);
    for (let i = 0; i < dim; i++)
      for (let j = 0; j < dim; j++)
        centroid[j] = (centroid[j] as number) + (simplex[i]!.x[j] as number) / dim;
    const reflected = combine(centroid, worst.x, -1);
    const vr = f(reflected);
    evals++;
    if (vr < best.v) {
      const expanded = combine(centroid, worst.x, -2);
      const ve = f(expanded);
      evals++;
      simplex[dim] = ve < vr ? { x: expanded, v: ve } : { x: reflected, v: vr };
    } else if (vr < simplex[dim - 1]!.v) {
      simplex[dim] = { x: reflected, v: vr };
    } else {
      const contracted = combine(centroid, worst.x, vr < worst.v ? -0.5 : 0.5);
      const vc = f(contracted);
      evals++;
      if (vc < Math.min(vr, worst.v)) simplex[dim] = { x: contracted, v: vc };
      else {
        simplex = simplex.map((p, i) => {
          if (i === 0) return p;
          const x = combine(best.x, p.x, 0.5);
          return { x, v: f(x) };
        });
        evals += dim;
      }
    }
  }
  simplex.sort((a, b) => a.v - b.v);
  return simplex[0]!.x;
}

/** Fits the model with season `period` (1: none) to `y` (NaN = missing bucket). */
export function fitHoltWinters(y: Float64Array, period: number): HwFit {
  const seasonal = period > 1;
  const objective = (x: number[]) => {
    const r = run(y, period, decode(x, seasonal), false);
    return Number.isFinite(r.sse) ? r.sse : Number.MAX_VALUE;
  };
  // Two starts (a smooth and a reactive level), each refined once more from where it stopped.
  let best: number[] | null = null;
  let bestV = Infinity;
  for (const start of [
    [logit(0.2), logit(0.1), logit(0.1), 1],
    [logit(0.7), logit(0.05), logit(0.3), 1],
  ]) {
    const x = nelderMead(objective, nelderMead(objective, start), 0.5);
    const v = objective(x);
    if (v < bestV) {
      bestV = v;
      best = x;
    }
  }
  const p = decode(best as number[], seasonal);
  const r = run(y, period, p, true);
  const n = Math.max(1, r.n);
  const sigma2 = r.sse / n;
  const k = (seasonal ? 4 : 3) + 2 + (seasonal ? period : 0);
  return {
    period,
    params: {
      alpha: p.alpha,
      beta: p.beta / p.alpha,
      gamma: seasonal ? p.gamma / (1 - p.alpha) : 0,
      phi: p.phi,
    },
    sse: r.sse,
    n: r.n,
    sigma2,
    aic: n * Math.log(Math.max(sigma2, 1e-300)) + 2 * k,
    fitted: r.fitted as Float64Array,
    level: r.level,
    trend: r.trend,
    seasonal: r.seasonal,
  };
}

/** The next `h` buckets after the fitted ones, with 80% and 95% prediction intervals. */
export function forecastHoltWinters(fit: HwFit, h: number): HwForecastPoint[] {
  const { alpha, phi } = fit.params;
  const beta = fit.params.beta * alpha;
  const gamma = fit.params.gamma * (1 - alpha);
  const out: HwForecastPoint[] = [];
  let phiSum = 0; // φ + φ² + … + φ^j
  let phiPow = 1;
  let growth = 0; // Σ c_j² for j < step
  for (let step = 1; step <= h; step++) {
    phiPow *= phi;
    phiSum += phiPow;
    const season = fit.period > 1 ? (fit.seasonal[(step - 1) % fit.period] as number) : 0;
    const forecast = fit.level + phiSum * fit.trend + season;
    const sd = Math.sqrt(fit.sigma2 * (1 + growth));
    out.push({
      forecast,
      lo80: forecast - Z80 * sd,
      hi80: forecast + Z80 * sd,
      lo95: forecast - Z95 * sd,
      hi95: forecast + Z95 * sd,
    });
    // c_step for the next step's variance: α + βφ_step + γ when step is a whole number of seasons.
    const c = alpha + beta * phiSum + (fit.period > 1 && step % fit.period === 0 ? gamma : 0);
    growth += c * c;
  }
  return out;
}

/**
 * The fit among the candidate seasons (1: none) with the lowest AIC, skipping those the series is too
 * short for; null when it is too short for every one.
 */
export function chooseSeason(y: Float64Array, periods: number[]): { best: HwFit; tried: HwFit[] } | null {
  const known = y.reduce((k, v) => k + (Number.isNaN(v) ? 0 : 1), 0);
  const tried = periods
    .filter((m) => y.length >= minBuckets(m) && known >= minBuckets(m) / 2)
    .map((m) => fitHoltWinters(y, m));
  if (!tried.length) return null;
  const best = tried.reduce((a, b) => (b.aic < a.aic ? b : a));
  return { best, tried };
}

/** Mean absolute error of the one-step seasonal naive forecast (y[t] ≈ y[t - period]) within y: MASE's scale. */
export function seasonalNaiveMae(y: ArrayLike<number>, period: number): number {
  let sum = 0;
  let n = 0;
  for (let t = period; t < y.length; t++) {
    const a = y[t] as number;
    const b = y[t - period] as number;
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    sum += Math.abs(a - b);
    n++;
  }
  return n ? sum / n : NaN;
}
