// Maps driver and PostgreSQL errors to IotctlError once, so every command reports them the same way.
import { IotctlError } from '../errors.js';
import { redact } from './redact.js';
import type { Target } from './types.js';

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  errno?: number;
}

/**
 * A unique violation: 23505, or what Citus reports for one raised on a worker during a COPY through the
 * coordinator (XX000 with PostgreSQL's message: the worker's SQLSTATE is lost on the way).
 */
export function isUniqueViolation(err: unknown): boolean {
  const e = (err ?? {}) as PgLikeError;
  if (e.code === '23505') return true;
  return e.code === 'XX000' && /^duplicate key value violates unique constraint/.test(e.message ?? '');
}

/** SQLSTATEs and socket errors after which retrying the same batch can succeed. */
export function isTransientError(err: unknown): boolean {
  const code = (err as PgLikeError)?.code ?? '';
  if (['57P01', '57P02', '57P03', '53300', '40001', '40P01'].includes(code)) return true;
  if (code.startsWith('08')) return true;
  if (['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  const message = (err as PgLikeError)?.message ?? '';
  return /Connection terminated|connection ended|server closed the connection|timeout exceeded when trying to connect/i.test(
    message,
  );
}

/**
 * An error a Citus coordinator relays from a worker that the same statement can get past a moment later:
 * the worker's backend terminated or restarting (57P01-57P03, with Citus's `while executing command on
 * host:port` context), the coordinator's connection to it lost (08xxx, "connection to the remote node …
 * failed"), or, where Citus has lost the worker's SQLSTATE (COPY, a transaction's commit), XX000 with such a
 * message, a deadlock or a serialization failure. A single server never reports these shapes.
 */
export function isWorkerTransientError(err: unknown): boolean {
  const e = (err ?? {}) as PgLikeError & { where?: string };
  const code = e.code ?? '';
  const message = e.message ?? '';
  if (['57P01', '57P02', '57P03'].includes(code)) return /while executing command on /.test(e.where ?? '');
  if (code.startsWith('08'))
    return /remote node|could not establish any connections to the node/.test(message);
  if (code !== 'XX000') return false;
  return /^(connection to the remote node \S+ failed|failure on connection marked as essential|could not establish any connections to the node|terminating connection due to administrator command|server closed the connection unexpectedly|connection not open|deadlock detected|could not serialize access)/.test(
    message,
  );
}

/**
 * The worker (host:port) a Citus coordinator names in an error it relays from one: "connection to the remote
 * node [user@]host:port failed", or the `while executing command on host:port` context. Null for any other.
 */
export function citusWorkerNamed(err: unknown): string | null {
  const e = (err ?? {}) as PgLikeError & { where?: string };
  const named =
    /(?:remote node (?:[^@\s]+@)?|connection marked as essential: |connections to the node )(\[[^\]]+\]:\d+|[^\s:,]+:\d+)/.exec(
      e.message ?? '',
    ) ?? /while executing command on (\[[^\]]+\]:\d+|[^\s:,]+:\d+)/.exec(e.where ?? '');
  return named ? named[1]! : null;
}

const WRITES =
  /\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|CREATE|ALTER|DROP|GRANT|REVOKE|COPY|CALL|NOTIFY)\b|\bFOR\s+(NO\s+KEY\s+)?SHARE\b/i;
const CHANGING_CALLS =
  /\b(\w*advisory\w*|nextval|setval|set_config|\w*compress\w*|\w*columnstore\w*|\w*refresh\w*|run_command_on_\w+|\w+_policy|\w+_job|citus_(add|remove|set|update|activate|disable)_\w+|create_\w+|alter_\w+|drop_\w+|undistribute_\w+|pg_terminate_backend|pg_cancel_backend)\s*\(/i;

/**
 * Whether a statement only reads, so that running it again after a failure cannot change anything twice:
 * a SELECT (or WITH … SELECT) that writes no table, calls none of the functions iotctl uses to change the
 * store (Citus's and TimescaleDB's create_/alter_/drop_ functions, compression, refresh, advisory locks,
 * sequences, run_command_on_*) and takes no row lock. Conservative: a read it cannot tell is not repeated.
 */
export function isRepeatableRead(text: string): boolean {
  if (!/^\s*(SELECT|WITH)\b/i.test(text)) return false;
  return !WRITES.test(text) && !CHANGING_CALLS.test(text);
}
/** Node's TLS verification failures: the connection is refused before any SQL runs. */
const tlsCertificateCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

export function mapDbError(err: unknown, target: Target): IotctlError {
  if (err instanceof IotctlError) return err;
  const e = (err ?? {}) as PgLikeError;
  const code = e.code ?? '';
  const raw = redact(e.message ?? String(err), target);
  const where = target.display;
  if (/SASL: .*password must be a string|no password (was )?(supplied|provided)/i.test(raw)) {
    return new IotctlError(
      'AUTH',
      `authentication failed for ${where}: the server wants a password and none was given`,
      {
        hint: 'put it in the URL, in PGPASSWORD, or in ~/.pgpass',
        cause: err,
      },
    );
  }
  if (/timeout exceeded when trying to connect/i.test(raw)) {
    return new IotctlError('CONNECTION', `cannot connect to ${where}: connection timed out`, {
      hint: 'check that the server is running and reachable',
      cause: err,
    });
  }
  if (code === '53100' || code === 'ENOSPC' || /No space left on device/i.test(raw)) {
    return diskFullError(target, err, raw);
  }
  if (code === 'XX001' || code === 'XX002') {
    // data_corrupted / index_corrupted: a page failed its checksum or header check when read.
    const subject = target.kind === 'embedded' ? `the embedded database in ${target.dataDir}` : where;
    return new IotctlError('DAMAGED', `${subject} is damaged: ${raw}`, {
      hint: `run \`iotctl check\` to list every damaged table; restore from a backup${target.kind === 'embedded' ? '' : ' (or ask the server administrator)'}`,
      cause: err,
    });
  }
  if (/server does not support SSL/i.test(raw)) {
    return new IotctlError(
      'CONNECTION',
      `cannot connect to ${where}: the server does not accept SSL connections`,
      {
        hint: 'drop sslmode from the URL (or use sslmode=disable), or turn on ssl in the server',
        cause: err,
      },
    );
  }
  if (tlsCertificateCodes.has(code) || code.startsWith('ERR_TLS_')) {
    return new IotctlError('CONNECTION', `cannot connect to ${where}: TLS: ${raw}`, {
      hint: "the server's certificate is not trusted: give its CA with sslrootcert=/path/ca.crt in the URL",
      cause: err,
    });
  }
  if (['ECONNRESET', 'EPIPE'].includes(code)) {
    return new IotctlError('CONNECTION', `lost connection to ${where}: ${raw}`, { cause: err });
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN'].includes(code)) {
    return new IotctlError('CONNECTION', `cannot connect to ${where}: ${describeSocketError(code)}`, {
      hint: 'check that the server is running and the host and port are right',
      cause: err,
    });
  }
  if (code === '28P01' || code === '28000') {
    return new IotctlError('AUTH', `authentication failed for ${where}`, {
      hint: 'check the user name and password (PGPASSWORD or the URL); pg_hba.conf may also refuse this host',
      cause: err,
    });
  }
  if (code === '3D000') {
    return new IotctlError('UNKNOWN_DATABASE', `database does not exist: ${where}`, {
      hint: 'create it first (createdb NAME) or name an existing database in the URL',
      cause: err,
    });
  }
  if (code === '42501') {
    return new IotctlError('PERMISSION', `permission denied on ${where}: ${raw}`, {
      hint: 'connect as a user that owns the iotctl schema, or ask an administrator to grant the privilege',
      cause: err,
    });
  }
  // A Citus coordinator relays the loss of its connection to a worker (08xxx naming the remote node, or the
  // worker's backend terminated: 57P01-57P03 `while executing command on host:port`): that worker is named.
  const worker = citusWorkerNamed(err);
  const workerGone = worker !== null && ['57P01', '57P02', '57P03'].includes(code);
  if (
    code.startsWith('08') ||
    workerGone ||
    /Connection terminated|connection ended|server closed/i.test(raw)
  ) {
    const lost = worker ? `the Citus worker ${worker} (through ${where})` : where;
    return new IotctlError('CONNECTION', `lost connection to ${lost}: ${raw}`, { cause: err });
  }
  if (code === '42P01' && /iotctl\./.test(raw)) {
    return new IotctlError('NOT_INITIALISED', `iotctl is not initialised on ${where}`, {
      hint: 'run `iotctl init` first',
      cause: err,
    });
  }
  const detail = e.detail ? ` (${redact(e.detail, target)})` : '';
  return new IotctlError('DATABASE', `database error${code ? ` ${code}` : ''}: ${raw}${detail}`, {
    hint: e.hint,
    cause: err,
  });
}

/** SQLSTATE 53100 (or ENOSPC): nothing more can be written until space is freed. */
export function diskFullError(target: Target, cause: unknown, detail?: string): IotctlError {
  const suffix = detail ? `: ${detail}` : '';
  if (target.kind === 'embedded') {
    return new IotctlError('DISK_FULL', `the disk holding ${target.dataDir} is full${suffix}`, {
      hint: 'free some space there and run the command again: what was committed is kept, and the data directory works again once there is room',
      cause,
    });
  }
  return new IotctlError('DISK_FULL', `the database server's disk is full (${target.display})${suffix}`, {
    hint: 'what was committed is kept; ask the server administrator to free space, then run the command again',
    cause,
  });
}

function describeSocketError(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return 'host unreachable';
  }
}
