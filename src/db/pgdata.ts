// The files of the embedded database's PostgreSQL data directory, read and written while no engine has it
// open: a sanity check before opening (a damaged directory aborts the WASM engine with no message), and
// turning on data page checksums right after creation (PGlite's initdb takes no options).
import fs from 'node:fs';
import path from 'node:path';

const BLCKSZ = 8192;
const RELSEG_BLOCKS = 131072;
const CONTROL_FILE = path.join('global', 'pg_control');
const CONTROL_FILE_SIZE = 8192;
/** The PostgreSQL major version of the bundled engine. */
export const ENGINE_MAJOR = '17';

// --- CRC-32C, as pg_control's checksum -------------------------------------------------------------

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// --- pg_control --------------------------------------------------------------------------------------

interface ControlLayout {
  /** Offset of data_checksum_version (uint32). */
  checksumVersion: number;
  /** Offset of the CRC, which covers every byte before it. */
  crc: number;
}

/**
 * Finds the fields iotctl needs by their known neighbours (block size, segment size, name length, index
 * keys: constants of the build) rather than by a struct layout that moves between versions; the CRC then
 * proves the guess. Null when the file does not look like a pg_control this code understands.
 */
function controlLayout(ctl: Buffer): ControlLayout | null {
  for (let o = 0; o + 80 <= 512; o += 4) {
    if (
      ctl.readUInt32LE(o) === BLCKSZ &&
      ctl.readUInt32LE(o + 4) === RELSEG_BLOCKS &&
      ctl.readUInt32LE(o + 8) === BLCKSZ &&
      ctl.readUInt32LE(o + 16) === 64 &&
      ctl.readUInt32LE(o + 20) === 32
    ) {
      // ... loblksize, float8ByVal (bool, padded), data_checksum_version, mock nonce[32], crc.
      const layout = { checksumVersion: o + 36, crc: o + 72 };
      return crc32c(ctl.subarray(0, layout.crc)) === ctl.readUInt32LE(layout.crc) ? layout : null;
    }
  }
  return null;
}

/** Where the WAL that a restart replays begins (the last checkpoint's redo pointer), as a segment file. */
function redoSegmentFile(ctl: Buffer, segmentBytes: number): string {
  // ControlFileData starts: system_identifier, version, catalog version, state, time, checkPoint, and
  // the CheckPoint copy (redo LSN, then timeline): fixed offsets since PostgreSQL 9.x.
  const redo = ctl.readBigUInt64LE(40);
  const timeline = ctl.readUInt32LE(48);
  const segno = redo / BigInt(segmentBytes);
  const perId = BigInt(0x100000000 / segmentBytes);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(timeline) + hex(segno / perId) + hex(segno % perId);
}

/**
 * What is wrong with an existing data directory, in the words of its files, or null when it looks whole
 * (or does not exist yet, or is empty: the engine creates it). Reads only; finds missing or truncated
 * control files and missing directories, the damage that otherwise shows only as `Aborted()`.
 */
export function inspectDataDir(pgdata: string): string | null {
  let entries: string[];
  try {
    entries = fs.readdirSync(pgdata);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return `${pgdata} cannot be read: ${(err as Error).message}`;
  }
  if (entries.length === 0) return null;
  const version = readText(path.join(pgdata, 'PG_VERSION'));
  if (version === null) {
    return 'PG_VERSION is missing (the directory was never completely created, or has lost files)';
  }
  if (version.trim() !== ENGINE_MAJOR) {
    return `it was created by PostgreSQL ${version.trim()}, and this iotctl's engine is PostgreSQL ${ENGINE_MAJOR}`;
  }
  for (const dir of ['global', 'base', 'pg_wal', 'pg_xact']) {
    if (!isDirectory(path.join(pgdata, dir))) return `${dir}/ is missing`;
  }
  let ctl: Buffer;
  try {
    ctl = fs.readFileSync(path.join(pgdata, CONTROL_FILE));
  } catch {
    return `${CONTROL_FILE} is missing`;
  }
  if (ctl.length !== CONTROL_FILE_SIZE) {
    return `${CONTROL_FILE} is ${ctl.length} bytes long instead of ${CONTROL_FILE_SIZE}`;
  }
  const layout = controlLayout(ctl);
  if (!layout) return `${CONTROL_FILE} is corrupt (its checksum does not match)`;
  const walSegment = ctl.readUInt32LE(layout.checksumVersion - 24);
  const redo = redoSegmentFile(ctl, walSegment);
  if (!fs.existsSync(path.join(pgdata, 'pg_wal', redo))) {
    return `pg_wal/${redo}, the write-ahead log a restart begins from, is missing`;
  }
  return null;
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
