// `iotctl anomalies`: flags from the method registry (anomalies/methods/), one data call, one printer.
import { Option, type Command } from 'commander';
import { chartPoints, seriesToChart } from '../anomalies/chart.js';
import {
  anomalies,
  anomalyIncidents,
  validateAnomalies,
  type AnomaliesOptions,
  type FlaggedReading,
} from '../anomalies/detect.js';
import type { Incident } from '../anomalies/incidents.js';
import {
  allFlags,
  anomalyMethods,
  defaultMethod,
  methodNames,
  type SharedFlag,
} from '../anomalies/methods/index.js';
import { CLOSE_AFTER } from '../anomalies/methods/robust.js';
import { ExitCode, usageError } from '../errors.js';
import type { Db } from '../db/types.js';
import {
  anomaliesChartSpec,
  CHART_COLUMNS,
  chartFileOf,
  SeriesCollector,
  SVG_MAX_SERIES,
  writeChartFile,
  type ChartFile,
} from '../output/chart-file.js';
import { log } from '../output/log.js';
import { printAnomalies, printIncidents } from '../output/anomalies.js';
import {
  addFilterOptions,
  addRangeOptions,
  parseFilter,
  parseNumber,
  parseRangeFlags,
  type FilterFlags,
} from '../query/options.js';
import { parseDuration } from '../util/duration.js';
import type { RowFormat } from '../output/render.js';
import {
  examples,
  givenByUser,
  globalOptions,
  parseIntOption,
  withDb,
  type GlobalOptions,
} from './common.js';

const flagName = (f: SharedFlag) => f.flag.flags.split(' ')[0] as string;
const listed = (names: string[]) =>
  names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? '');

/** One commander option per flag, its help prefixed with the methods that take it and their defaults. */
function methodOption(shared: SharedFlag): Option {
  const { flag, methods } = shared;
  const defaults = new Set(methods.map((m) => m.default));
  const same = defaults.size === 1 ? methods[0]?.default : undefined;
  const perMethod = methods.filter((m) => m.default !== undefined);
  const note =
    same === undefined && perMethod.length
      ? ` (default ${listed(perMethod.map((m) => `${m.default} for ${m.name}`))})`
      : '';
  const opt = new Option(flag.flags, `${methods.map((m) => m.name).join('/')}: ${flag.help}${note}`);
  const name = flagName(shared);
  if (flag.kind === 'number') opt.argParser(parseNumber(name));
  if (flag.kind === 'int') opt.argParser(parseIntOption(name, flag.min));
  return same === undefined ? opt : opt.default(same);
}

type Flags = FilterFlags & {
  since: string;
  until: string;
  method: string;
  points?: boolean;
  group: 'device' | 'series';
  closeAfter: number;
  failOnIncident?: boolean;
  chart?: string;
} & Record<string, unknown>;

/** Flagged readings kept for a chart at most (a stuck sensor over weeks flags every reading). */
const CHART_FLAGGED_MAX = 100_000;

/** Reads the readings of the series to draw (those with findings first); the chart to write once printed. */
async function anomaliesChart(
  db: Db,
  file: ChartFile,
  o: AnomaliesOptions,
  incidents: Incident[],
  flagged: FlaggedReading[],
): Promise<() => Promise<void>> {
  const first = [
    ...incidents.flatMap((i) => i.metrics.map((metric) => ({ device: i.device, metric }))),
    ...flagged,
  ];
  const { series, selected } = await seriesToChart(db, o.filter, first, SVG_MAX_SERIES);
  const readings = new SeriesCollector(o.range.since.getTime(), o.range.until.getTime());
  readings.notRead = selected - series.length;
  await chartPoints(db, series, o.range, CHART_COLUMNS, (s, t, v) =>
    readings.add(s.device, s.metric, s.unit, '', t, v),
  );
  const spec = anomaliesChartSpec({
    since: o.range.since,
    until: o.range.until,
    method: o.method,
    readings,
    incidents,
    flagged,
  });
  return async () => {
    await writeChartFile(file, spec);
    readings.warnNotDrawn();
  };
}

/** Runs the detection, prints incidents or flagged readings, then writes the chart; how many were found. */
async function detectAndPrint(
  g: GlobalOptions<RowFormat>,
  options: AnomaliesOptions,
  points: boolean,
  chartFile: ChartFile | undefined,
): Promise<number> {
  const flagged: FlaggedReading[] = [];
  if (chartFile && !points)
    options.onFlagged = (r) => {
      if (flagged.length < CHART_FLAGGED_MAX) flagged.push(r);
    };
  // The chart's readings are read before the database closes; the file is written after the output.
  let writeChart: (() => Promise<void>) | undefined;
  let found: number;
  if (points) {
    const res = await withDb(g, async (db) => {
      const res = await anomalies(db, options);
      if (chartFile) {
        const rows = res.rows.slice(0, CHART_FLAGGED_MAX).map((r) => ({ ...r, time: r.time.getTime() }));
        writeChart = await anomaliesChart(db, chartFile, options, [], rows);
      }
      return res;
    });
    await printAnomalies(g.format, res);
    found = res.rows.length;
  } else {
    const res = await withDb(g, async (db) => {
      const res = await anomalyIncidents(db, options);
      if (chartFile) writeChart = await anomaliesChart(db, chartFile, options, res.incidents, flagged);
      return res;
    });
    await printIncidents(g.format, res);
    found = res.incidents.length;
  }
  await writeChart?.();
  return found;
}

export function registerAnomalies(program: Command): void {
  const cmd = addRangeOptions(addFilterOptions(program.command('anomalies')), '1h')
    .description(
      'incidents a method finds, per device (every metric unless --metric), or with --points the flagged readings',
    )
    .addOption(
      new Option('--method <method>', 'detection method').choices(methodNames).default(defaultMethod),
    )
    .option('--points', 'one row per flagged reading instead of incidents')
    .addOption(
      new Option('--group <by>', 'one incident per device (its metrics merged) or per series')
        .choices(['device', 'series'])
        .default('device'),
    )
    .option(
      '--close-after <n>',
      'an incident ends after this many normal readings in a row',
      parseIntOption('--close-after'),
      CLOSE_AFTER,
    )
    .option('--fail-on-incident', 'exit 5 when anything is found (for cron and monitoring)')
    .option(
      '--chart <file>',
      'write a chart (.svg or .png): the readings, incidents shaded, flagged readings marked',
    )
    .addHelpText(
      'after',
      '\nMethods:\n' +
        anomalyMethods.map((m) => `  ${m.name.padEnd(8)} ${m.summary}`).join('\n') +
        '\n\nAn incident is the flagged readings of a series until --close-after normal readings in a row; it is' +
        '\nreported by the run in which it is detected (history before --since is read for the baseline, so' +
        '\n`--since 15m` from cron reports each incident once).',
    );
  const flags = allFlags();
  for (const f of flags) cmd.addOption(methodOption(f));
  cmd.action(async (o: Flags, command: Command) => {
    const g = globalOptions(command, 'rows');
    const opts = { ...o } as Record<string, unknown>;
    for (const f of flags) {
      const takes = f.methods.some((m) => m.name === o.method);
      if (f.flag.exclusive && !takes && givenByUser(command, f.flag.key)) {
        throw usageError(
          `${flagName(f)} applies to ${listed(f.methods.map((m) => m.name))}, not ${o.method}`,
        );
      }
      if (f.flag.kind === 'duration' && typeof o[f.flag.key] === 'string')
        opts[f.flag.key] = parseDuration(o[f.flag.key] as string, flagName(f));
    }
    const options = {
      ...opts,
      filter: parseFilter(o),
      range: parseRangeFlags(o),
      closeAfter: o.closeAfter,
      group: o.group,
      onNotice: (m: string) => log.info(m),
    } as AnomaliesOptions;
    // The data functions validate too, so every caller gets the same checks; here before any database work.
    validateAnomalies(options);
    const found = await detectAndPrint(g, options, !!o.points, chartFileOf(o.chart));
    if (o.failOnIncident && found > 0) process.exitCode = ExitCode.checkFailed;
  });
  examples(cmd, [
    'iotctl anomalies --since 15m --fail-on-incident            # cron: new incidents on any sensor',
    'iotctl anomalies --device pump-1 --since 24h --json',
    'iotctl anomalies --metric temperature --method mad --since 24h --points',
    'iotctl anomalies --metric humidity --method range --min 0 --max 100 --since 7d',
    'iotctl anomalies --device pump-1 --since 24h --chart pump-1.svg',
  ]);
}
