// Target resolution: which database a command talks to (a server URL, a libpq string or an embedded data
// directory), and what in it is secret. Pure: reads only its arguments and the environment it is given.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IotctlError } from '../errors.js';
import type { Target } from './types.js';

export interface TargetOptions {
  db?: string;
  env?: NodeJS.ProcessEnv;
}

const keywordRe = /^\s*[a-z_]+\s*=/i;

export function isServerSpec(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec) || keywordRe.test(spec);
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.IOTCTL_DATA_DIR) return path.resolve(env.IOTCTL_DATA_DIR);
  if (process.platform === 'win32' && env.LOCALAPPDATA) return path.join(env.LOCALAPPDATA, 'iotctl');
  if (process.platform === 'darwin')
    return path.join(os.homedir(), 'Library', 'Application Support', 'iotctl');
  const base = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'iotctl');
}

/** Resolves the target in the documented order: --db, IOTCTL_DATABASE_URL, DATABASE_URL, PG*, embedded. */
export function resolveTarget(opts: TargetOptions = {}): Target {
  const env = opts.env ?? process.env;
  const candidates: Array<[string, string | undefined]> = [
    ['--db', opts.db],
    ['IOTCTL_DATABASE_URL', env.IOTCTL_DATABASE_URL],
    ['DATABASE_URL', env.DATABASE_URL],
  ];
  for (const [source, value] of candidates) {
    if (value === undefined || value.trim() === '') continue;
    if (isServerSpec(value)) return serverTarget(value, source, env);
    return embeddedTarget(value, source);
  }
  if (env.PGHOST || env.PGDATABASE || env.PGSERVICE) return serverTarget('', 'PG* variables', env);
  return embeddedTarget(
    defaultDataDir(env),
    env.IOTCTL_DATA_DIR ? 'IOTCTL_DATA_DIR' : 'default data directory',
  );
}

function embeddedTarget(spec: string, source: string): Target {
  const dir = spec.startsWith('file:') ? fileURLToPath(spec) : path.resolve(spec);
  return { kind: 'embedded', display: dir, dataDir: dir, source, secrets: [] };
}

/** libpq keyword/value string (`host=x dbname=y password='a b'`) to a postgres:// URL. */
export function keywordStringToUrl(spec: string): string {
  const pairs = new Map<string, string>();
  const re = /([a-z_]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))/gi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(spec))) {
    const key = (m[1] as string).toLowerCase();
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    pairs.set(key, value);
  }
  const url = new URL('postgres://localhost');
  const host = pairs.get('host') ?? pairs.get('hostaddr');
  if (host && host.startsWith('/')) url.searchParams.set('host', host);
  else if (host) url.hostname = host;
  if (pairs.has('port')) url.port = pairs.get('port') as string;
  if (pairs.has('user')) url.username = encodeURIComponent(pairs.get('user') as string);
  if (pairs.has('password')) url.password = encodeURIComponent(pairs.get('password') as string);
  if (pairs.has('dbname')) url.pathname = '/' + encodeURIComponent(pairs.get('dbname') as string);
  for (const key of ['sslmode', 'application_name', 'options', 'connect_timeout']) {
    if (pairs.has(key)) url.searchParams.set(key, pairs.get(key) as string);
  }
  if (!host && !pairs.has('host')) url.hostname = '';
  return url.toString();
}

function serverTarget(spec: string, source: string, env: NodeJS.ProcessEnv): Target {
  const urlText = spec === '' ? '' : keywordRe.test(spec) ? keywordStringToUrl(spec) : spec;
  const secrets: string[] = [];
  let display: string;
  if (urlText) {
    let url: URL;
    try {
      url = new URL(urlText);
    } catch {
      throw new IotctlError('CONFIG', `invalid database URL from ${source}`, {
        hint: 'expected postgres://user:password@host:5432/dbname or a libpq string such as "host=... dbname=..."',
      });
    }
    if (url.password) {
      secrets.push(url.password, safeDecode(url.password));
      url.password = '***';
    }
    for (const key of ['password', 'sslpassword']) {
      const value = url.searchParams.get(key);
      if (value) {
        secrets.push(value, encodeURIComponent(value));
        url.searchParams.set(key, '***');
      }
    }
    const host = url.hostname || env.PGHOST || 'localhost';
    if (!url.hostname) url.hostname = host.startsWith('/') ? 'localhost' : host;
    display = url.toString();
  } else {
    const user = env.PGUSER ?? os.userInfo().username;
    display = `postgres://${encodeURIComponent(user)}${env.PGPASSWORD ? ':***' : ''}@${env.PGHOST ?? 'localhost'}:${env.PGPORT ?? 5432}/${env.PGDATABASE ?? user}`;
  }
  if (env.PGPASSWORD) secrets.push(env.PGPASSWORD);
  return { kind: 'server', display, connectionString: urlText || undefined, source, secrets };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
