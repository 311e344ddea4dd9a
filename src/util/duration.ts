// Durations as users type them (`90s`, `15m`, `24h`, `7d`, `2w`) and as PostgreSQL intervals.
import { usageError } from '../errors.js';

const unitMs: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const unitWords: Record<string, string> = {
  ms: 'milliseconds',
  s: 'seconds',
  m: 'minutes',
  h: 'hours',
  d: 'days',
  w: 'weeks',
};

export interface Duration {
  /** As typed, normalised: `7d` */
  text: string;
  ms: number;
  /** A PostgreSQL interval literal: `7 days` */
  interval: string;
}

const durationRe = /^(\d+)\s*(ms|s|m|h|d|w)$/;

/**
 * A duration as typed. Zero is a usage error unless `allowZero` (the few flags where 0 means something:
 * no retries, no tolerance, now); a negative one never parses.
 */
export function parseDuration(
  input: string,
  what = 'duration',
  { allowZero = false }: { allowZero?: boolean } = {},
): Duration {
  const hint = 'use a number and a unit: 30s, 15m, 24h, 7d, 2w';
  const m = durationRe.exec(input.trim().toLowerCase());
  if (!m) throw usageError(`invalid ${what} '${input}'`, hint);
  const n = Number(m[1]);
  if (n === 0 && !allowZero) throw usageError(`invalid ${what} '${input}': it must be longer than 0`, hint);
  const unit = m[2] as string;
  return { text: `${n}${unit}`, ms: n * (unitMs[unit] as number), interval: `${n} ${unitWords[unit]}` };
}

export function isDuration(input: string): boolean {
  return durationRe.test(input.trim().toLowerCase());
}

/** Shortest exact text for a number of milliseconds: 86400000 -> `1d`. */
export function formatDurationMs(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = unitMs[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Human age for status output: 3725000 -> `1h 2m`. */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
