// Messages for people (progress, warnings, errors) on stderr, so stdout stays clean for data.

export interface LogLevel {
  quiet: boolean;
  verbose: boolean;
}

const level: LogLevel = { quiet: false, verbose: false };

export function setLogLevel(next: Partial<LogLevel>): void {
  Object.assign(level, next);
}

export function isVerbose(): boolean {
  return level.verbose;
}

export const log = {
  info(message: string): void {
    if (!level.quiet) process.stderr.write(message + '\n');
  },
  warn(message: string): void {
    process.stderr.write(`warning: ${message}\n`);
  },
  error(message: string): void {
    process.stderr.write(`error: ${message}\n`);
  },
  verbose(message: string): void {
    if (level.verbose) process.stderr.write(message + '\n');
  },
};
