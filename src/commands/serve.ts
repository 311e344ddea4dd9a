// `iotctl serve`: holds the embedded database and serves it, to iotctl and to any PostgreSQL client (psql,
// Grafana), until SIGINT/SIGTERM; runs maintain's due jobs on a schedule, as the embedded database has no
// background workers.
import net from 'node:net';
import type { Command } from 'commander';
import type { ShareEvent } from '../db/share/server.js';
import { usageError } from '../errors.js';
import { log } from '../output/log.js';
import { printServeAddress } from '../output/serve.js';
import { serveEmbedded } from '../serve/run.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { examples, globalOptions } from './common.js';

export interface ListenAddress {
  host: string;
  port: number;
  loopback: boolean;
}

/** `HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT` (host 127.0.0.1). */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text.trim()) ?? /^()()(\d+)$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw usageError(`invalid --listen '${text}'`, 'use HOST:PORT, e.g. 127.0.0.1:5432');
  }
  const host = m[1] || m[2] || '127.0.0.1';
  if (host !== 'localhost' && net.isIP(host) === 0) {
    throw usageError(
      `invalid --listen host '${host}'`,
      'use an IP address (127.0.0.1, ::1, 0.0.0.0) or localhost',
    );
  }
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  return { host: host === 'localhost' ? '127.0.0.1' : host, port, loopback };
}

export function connectionUrl(address: { host: string; port: number } | { socketDir: string }): string {
  if ('socketDir' in address) {
    return `postgres://postgres@/postgres?host=${encodeURIComponent(address.socketDir)}`;
  }
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `postgres://postgres@${host}:${address.port}/postgres?sslmode=disable`;
}

function describe(event: ShareEvent): string {
  if (event.kind === 'connect') {
    const who = [event.application && `"${event.application}"`, event.user && `user ${event.user}`]
      .filter(Boolean)
      .join(', ');
    return `connection ${event.id} from ${event.peer}${who ? ` (${who})` : ''}`;
  }
  if (event.kind === 'disconnect') {
    const undone = event.rolledBack ? ', its open transaction rolled back' : '';
    return `connection ${event.id} closed after ${event.seconds.toFixed(1)} s${undone}`;
  }
  return `connection ${event.id}: ${event.message}`;
}

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description(
      'hold the embedded database and serve it to iotctl and any PostgreSQL client (psql, Grafana) until stopped',
    )
    .option('--listen <host:port>', 'TCP address (loopback unless named here)', '127.0.0.1:5432')
    .option('--socket <dir>', 'a Unix socket in this directory (.s.PGSQL.5432) instead of TCP')
    .option('--maintain-every <duration>', "run maintain's due jobs this often", '10m')
    .option('--no-maintain', 'do not run maintenance jobs')
    .action(async (o, command: Command) => {
      const g = globalOptions(command);
      if (command.getOptionValueSource('listen') === 'cli' && o.socket) {
        throw usageError('--listen and --socket exclude each other');
      }
      const listen = o.socket ? null : parseListen(o.listen as string);
      const every: Duration | null = o.maintain
        ? parseDuration(o.maintainEvery as string, '--maintain-every')
        : null;
      if (every && every.ms <= 0) throw usageError('--maintain-every must be longer than 0');
      const target = g.target;
      if (!target || target.kind !== 'embedded') {
        throw usageError(
          'iotctl serve shares the embedded database; this target is a server already',
          'connect to that server directly (psql, Grafana); or pick an embedded data directory with --db DIR',
        );
      }
      if (listen && !listen.loopback) {
        log.warn(
          `serving on ${listen.host}:${listen.port} without authentication: anyone who can reach it can read and change the data`,
        );
      }
      const stop = new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      await serveEmbedded(
        target,
        { listen, socketDir: o.socket ?? null, maintainEveryMs: every?.ms ?? null, stop },
        {
          ready: (address, socket) =>
            printServeAddress(g, {
              url: connectionUrl(address),
              dataDir: target.dataDir as string,
              socket,
              maintainEvery: every?.text ?? null,
            }),
          event: (event) => log.info(describe(event)),
          notice: (m, level) => log[level](m),
        },
      );
    });
  examples(cmd, [
    'iotctl serve                                   # psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"',
    'iotctl serve --listen 127.0.0.1:6543 --maintain-every 5m',
    'iotctl serve --socket /run/iotctl              # psql -h /run/iotctl',
    'iotctl serve --listen 0.0.0.0:5432             # other hosts too (no authentication: a warning says so)',
  ]);
}
