// The one error type iotctl raises, and the exit codes cron and monitoring can branch on.

export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  connection: 3,
  rejected: 4,
  checkFailed: 5,
  busy: 6,
  tooManyErrors: 7,
  database: 8,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The documented exit-code table, printed by `iotctl --help` and mirrored in the README. */
export const exitCodeTable: ReadonlyArray<[number, string]> = [
  [ExitCode.ok, 'success'],
  [ExitCode.internal, 'internal error (a bug: please report it with --verbose output)'],
  [
    ExitCode.usage,
    'usage or configuration error (unknown command, no subcommand given, bad flag value, bad input file)',
  ],
  [ExitCode.connection, 'cannot connect: refused, authentication failed, unknown database'],
  [ExitCode.rejected, 'ingest finished but some rows were rejected (see --rejects)'],
  [
    ExitCode.checkFailed,
    'a check failed: a job is failing (status, jobs, maintain), silent sensors (query latest --stale), incidents (anomalies --fail-on-incident), damaged tables (check)',
  ],
  [
    ExitCode.busy,
    'busy: the maintenance lock is held; the data directory is held by a process that does not share it, or its holder stopped during the command',
  ],
  [ExitCode.tooManyErrors, 'ingest stopped: --max-errors exceeded'],
  [
    ExitCode.database,
    'database error: permission denied, missing object, failed statement, disk full, damaged data directory',
  ],
  [ExitCode.interrupted, 'interrupted (SIGINT/SIGTERM); committed work is kept'],
];

export type ErrorCode =
  | 'INTERNAL'
  | 'USAGE'
  | 'CONFIG'
  | 'INPUT'
  | 'CONNECTION'
  | 'AUTH'
  | 'UNKNOWN_DATABASE'
  | 'PERMISSION'
  | 'NOT_INITIALISED'
  | 'NEEDS_TIMESCALEDB'
  | 'BUSY'
  | 'REJECTED'
  | 'TOO_MANY_ERRORS'
  | 'CHECK_FAILED'
  | 'DATABASE'
  | 'DISK_FULL'
  | 'DAMAGED'
  | 'INTERRUPTED'
  | 'OUTPUT_CLOSED';

const defaultExit: Record<ErrorCode, ExitCodeValue> = {
  INTERNAL: ExitCode.internal,
  USAGE: ExitCode.usage,
  CONFIG: ExitCode.usage,
  INPUT: ExitCode.usage,
  CONNECTION: ExitCode.connection,
  AUTH: ExitCode.connection,
  UNKNOWN_DATABASE: ExitCode.connection,
  PERMISSION: ExitCode.database,
  NOT_INITIALISED: ExitCode.database,
  NEEDS_TIMESCALEDB: ExitCode.usage,
  BUSY: ExitCode.busy,
  REJECTED: ExitCode.rejected,
  TOO_MANY_ERRORS: ExitCode.tooManyErrors,
  CHECK_FAILED: ExitCode.checkFailed,
  DATABASE: ExitCode.database,
  // No space left where the database writes: what was committed is kept; the work can go on once freed.
  DISK_FULL: ExitCode.database,
  // The embedded data directory cannot be opened or read back as written (see `iotctl check`).
  DAMAGED: ExitCode.database,
  INTERRUPTED: ExitCode.interrupted,
  // The reader of stdout went away (`iotctl query raw | head`): stop quietly, as `head`'s writers do.
  OUTPUT_CLOSED: ExitCode.ok,
};

export class IotctlError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly hint?: string;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'IotctlError';
    this.code = code;
    this.exitCode = opts.exitCode ?? defaultExit[code];
    this.hint = opts.hint;
  }
}

export function usageError(message: string, hint?: string): IotctlError {
  return new IotctlError('USAGE', message, { hint });
}
