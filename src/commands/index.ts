// The one list of commands the CLI registers, in the order `iotctl --help` shows them.
import type { Command } from 'commander';
import { registerAdvise } from './advise.js';
import { registerAnomalies } from './anomalies.js';
import { registerCheck } from './check.js';
import { registerDelete } from './delete.js';
import { registerExport } from './export.js';
import { registerForecast } from './forecast.js';
import { registerIngest } from './ingest.js';
import { registerInit } from './init.js';
import { registerQuery } from './query/index.js';
import { registerStatus } from './status.js';
import { registerCompress } from './compress.js';
import { registerJobs } from './jobs.js';
import { registerMaintain } from './maintain.js';
import { registerRetention } from './retention.js';
import { registerRollup } from './rollup.js';
import { registerSeries } from './series.js';
import { registerServe } from './serve.js';
import { registerStats } from './stats.js';

export const commands: Array<(program: Command) => void> = [
  registerInit,
  registerStatus,
  registerIngest,
  registerQuery,
  registerSeries,
  registerAnomalies,
  registerForecast,
  registerExport,
  registerDelete,
  registerMaintain,
  registerJobs,
  registerCompress,
  registerRetention,
  registerRollup,
  registerStats,
  registerAdvise,
  registerCheck,
  registerServe,
];
