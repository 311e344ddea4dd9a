// Progress of `iotctl rollup refresh` on stderr: on a terminal a spinner per rollup that follows its pieces
// (a history catch-up takes a minute or more); elsewhere (cron mail, a log file) one line per rollup.
import ora, { type Ora } from 'ora';
import type { RefreshProgress } from '../engine/types.js';
import { log } from './log.js';

/** `rollup_1m: 2019-03 … 14/52 windows`: the month the piece starts in, and how many of the rollup's pieces. */
export function refreshProgressText(p: RefreshProgress): string {
  const month = p.from ? p.from.toISOString().slice(0, 7) : 'start';
  return `${p.rollup}: ${month} … ${p.index + 1}/${p.total} window${p.total === 1 ? '' : 's'}`;
}

export interface RefreshReporter {
  onNotice(message: string): void;
  onProgress(p: RefreshProgress): void;
  stop(): void;
}

/** A zero-width terminal (some pseudo-terminals) would make a spinner redraw forever: no spinner there. */
export function refreshReporter(
  terminal = !!process.stderr.isTTY && (process.stderr.columns ?? 0) > 0,
  quiet = false,
): RefreshReporter {
  if (!terminal || quiet)
    return { onNotice: (m) => log.info(m), onProgress: () => undefined, stop: () => undefined };
  let spinner: Ora | undefined;
  let last: RefreshProgress | undefined;
  const finish = () => {
    if (!spinner) return;
    if (last)
      spinner.stopAndPersist({
        symbol: '✔',
        text: `${last.rollup}: ${last.total} window${last.total === 1 ? '' : 's'}`,
      });
    else spinner.stop();
    spinner = undefined;
    last = undefined;
  };
  return {
    onNotice(message) {
      finish();
      spinner = ora({ stream: process.stderr, text: message }).start();
    },
    onProgress(p) {
      last = p;
      if (spinner) spinner.text = refreshProgressText(p);
    },
    stop: finish,
  };
}
