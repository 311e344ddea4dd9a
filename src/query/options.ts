// Flags shared by `iotctl query` subcommands and `iotctl anomalies`: which series, which time range.
import type { Command } from 'commander';
import type { SeriesFilter } from '../db/sql/query.js';
import { usageError } from '../errors.js';
import { parseRange, type TimeRange } from './time.js';

export interface FilterFlags {
  metric?: string;
  device?: string;
  deviceLike?: string;
}

export function addFilterOptions(cmd: Command, metricRequired = false): Command {
  if (metricRequired) cmd.requiredOption('--metric <name>', 'metric to read');
  else cmd.option('--metric <name>', 'only this metric');
  return cmd
    .option('--device <ids>', 'only these devices (comma-separated)')
    .option('--device-like <pattern>', "only devices matching an SQL LIKE pattern ('hall-%')");
}

export function addRangeOptions(cmd: Command, since = '24h'): Command {
  return cmd
    .option('--since <time>', 'start: a duration back from now (24h, 7d), ISO 8601 or now', since)
    .option('--until <time>', 'end (exclusive): a duration back from now, ISO 8601 or now', 'now');
}

export function parseFilter(o: FilterFlags): SeriesFilter {
  const devices = o.device
    ?.split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '');
  if (o.device !== undefined && !devices?.length) throw usageError('--device needs at least one device id');
  return { metric: o.metric, devices, deviceLike: o.deviceLike };
}

export function parseRangeFlags(o: { since: string; until: string }, now = new Date()): TimeRange {
  return parseRange(o.since, o.until, now);
}

export function parseNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n))
      throw usageError(`${name} must be a number, got '${value}'`);
    return n;
  };
}
