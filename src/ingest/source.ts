// Input sources: files, globs (for shells that do not expand them, and cron), `-` for stdin; gzip
// is recognised by its magic bytes, whatever the name.
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { IotctlError, usageError } from '../errors.js';

export interface InputSpec {
  /** What messages and the rejects file call it: the path, or `-` for stdin. */
  name: string;
  /** Size in bytes for progress, when known. */
  size?: number;
}

function globToRegex(segment: string): RegExp {
  const body = segment
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

function expandGlob(pattern: string): string[] {
  const abs = path.isAbsolute(pattern);
  const parts = pattern.split(/[\\/]+/).filter((p, i) => p !== '' || i === 0);
  let bases = [abs ? path.sep : '.'];
  for (const part of parts.slice(abs ? 1 : 0)) {
    if (!/[*?[]/.test(part)) {
      bases = bases.map((b) => path.join(b, part));
      continue;
    }
    const re = globToRegex(part);
    const next: string[] = [];
    for (const b of bases) {
      let names: string[] = [];
      try {
        names = fs.readdirSync(b);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (re.test(n) && !n.startsWith('.')) next.push(path.join(b, n));
    }
    bases = next;
  }
  return bases.filter((f) => fs.existsSync(f) && fs.statSync(f).isFile());
}

const realpath = (file: string) => {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
};

const statOf = (file: string) => {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
};

const sameFile = (a: fs.Stats, b: fs.Stats) => a.dev === b.dev && a.ino === b.ino;

function rejectsIsInput(rejects: string, input: string): IotctlError {
  return usageError(
    `--rejects ${rejects} is ${input === '-' ? 'stdin' : `the input ${input}`} (the same file): writing it would destroy the input`,
    'name a new file for --rejects',
  );
}

/**
 * Expands the command-line inputs: globs in order, `-` kept as stdin; missing files are a usage error.
 * The rejects file is never an input: a glob that matches it leaves it out (it is rewritten as we read);
 * naming it as an input, or as stdin, or a hard link to it (the same device and inode) is refused.
 * `stdinFd` is the descriptor `-` reads from, when it is a real one.
 */
export function resolveInputs(args: string[], rejects?: string, stdinFd?: number): InputSpec[] {
  if (args.length === 0) throw usageError('no input given', 'name one or more files, a glob, or - for stdin');
  const rejectsStat = rejects === undefined ? undefined : statOf(rejects);
  const rejectsReal = rejectsStat && realpath(rejects!);
  const out: InputSpec[] = [];
  for (const arg of args) {
    if (arg === '-') {
      if (rejectsStat && stdinFd !== undefined) {
        let st: fs.Stats | undefined;
        try {
          st = fs.fstatSync(stdinFd);
        } catch {
          st = undefined;
        }
        if (st && sameFile(st, rejectsStat)) throw rejectsIsInput(rejects!, '-');
      }
      out.push({ name: '-' });
      continue;
    }
    const glob = /[*?]/.test(arg);
    const files = (glob ? expandGlob(arg) : [arg]).filter(
      (f) => !(glob && rejectsReal && realpath(f) === rejectsReal),
    );
    if (files.length === 0) throw new IotctlError('INPUT', `no files match ${arg}`);
    for (const f of files) {
      let st: fs.Stats;
      try {
        st = fs.statSync(f);
      } catch {
        throw new IotctlError('INPUT', `cannot read ${f}: no such file`);
      }
      if (!st.isFile()) throw new IotctlError('INPUT', `cannot read ${f}: not a file`);
      if (rejectsStat && sameFile(st, rejectsStat)) throw rejectsIsInput(rejects!, f);
      out.push({ name: f, size: st.size });
    }
  }
  return out;
}

/**
 * Reads the first bytes of a stream without losing them: returns them and a stream that yields
 * everything from the start, with backpressure intact.
 */
export async function peek(
  stream: Readable,
  enough: (head: Buffer) => boolean,
): Promise<{ head: Buffer; stream: Readable }> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let head = Buffer.alloc(0);
  let done = false;
  while (!enough(head)) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    chunks.push(typeof r.value === 'string' ? Buffer.from(r.value) : r.value);
    head = Buffer.concat(chunks);
  }
  async function* all() {
    try {
      if (head.length) yield head;
      while (!done) {
        const r = await it.next();
        if (r.done) return;
        yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      }
    } finally {
      await it.return?.();
    }
  }
  return { head, stream: Readable.from(all(), { objectMode: false }) };
}

/** Counts raw bytes as they pass, for progress. */
export function byteCounter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

/** Opens an input's raw bytes: the file, or `stdin` for `-`. */
export async function openRaw(spec: InputSpec, stdin: Readable): Promise<Readable> {
  if (spec.name === '-') return stdin;
  const raw = fs.createReadStream(spec.name, { highWaterMark: 64 * 1024 });
  await new Promise<void>((resolve, reject) => {
    raw.once('open', () => resolve());
    raw.once('error', (err) => reject(new IotctlError('INPUT', `cannot read ${spec.name}: ${err.message}`)));
  });
  return raw;
}

/** The decompressed byte stream of a raw input (gzip recognised by its magic bytes). */
export async function decodeInput(raw: Readable, onBytes: (n: number) => void): Promise<Readable> {
  const counted = raw.pipe(byteCounter(onBytes));
  raw.once('error', (err) => counted.destroy(err));
  const { head, stream } = await peek(counted, (h) => h.length >= 2);
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    stream.once('error', (err) => gunzip.destroy(err));
    return stream.pipe(gunzip);
  }
  return stream;
}
