// Per-batch CPU of ingest's loader, side by side with the implementations it replaced: ordering a batch by
// (series, time) (counting sort by series vs a comparison sort) and encoding it as COPY binary (DataView vs
// Buffer.writeInt32BE and friends). Batches shaped like bench/ingest.js's file: 3,000 series, time-major.
// Usage: npm run build && node bench/ingest-batch.js [rows per batch=50000] [batches=200]
import { encodeCopyBinary, sortBySeriesTime } from '../dist/ingest/loader.js';

const n = Number(process.argv[2] ?? 50_000);
const reps = Number(process.argv[3] ?? 200);
const sid = new Int32Array(n);
const us = new Float64Array(n);
const value = new Float64Array(n);
const base = Date.UTC(2024, 0, 1) * 1000;
for (let i = 0; i < n; i++) {
  sid[i] = 1 + (i % 3000);
  us[i] = base + Math.floor(i / 3000) * 10e6;
  value[i] = Math.round((20 + (i % 3) * 30 + (i % 97) / 10) * 100) / 100;
}

function comparisonSort() {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((x, y) => sid[x] - sid[y] || us[x] - us[y] || x - y);
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
function bufferWrites(order) {
  const buf = Buffer.allocUnsafe(SIGNATURE.length + 8 + n * 34 + 2);
  let o = SIGNATURE.copy(buf, 0);
  o = buf.writeInt32BE(0, o);
  o = buf.writeInt32BE(0, o);
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const t = us[i] - 946_684_800_000_000;
    const hi = Math.floor(t / 4294967296);
    o = buf.writeInt16BE(3, o);
    o = buf.writeInt32BE(8, o);
    o = buf.writeInt32BE(hi, o);
    o = buf.writeUInt32BE(t - hi * 4294967296, o);
    o = buf.writeInt32BE(4, o);
    o = buf.writeInt32BE(sid[i], o);
    o = buf.writeInt32BE(8, o);
    o = buf.writeDoubleBE(value[i], o);
  }
  buf.writeInt16BE(-1, o);
  return buf;
}

function time(f) {
  f();
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) f();
  return Number(process.hrtime.bigint() - t0) / 1e6 / reps;
}

const order = comparisonSort();
if (!sortBySeriesTime(sid, us, n).every((v, k) => v === order[k])) throw new Error('orders differ');
if (Buffer.compare(encodeCopyBinary(sid, us, value, order, n), bufferWrites(order)) !== 0)
  throw new Error('encodings differ');
// Alternated, so that both see the same machine.
const rounds = [];
for (let r = 0; r < 3; r++) {
  rounds.push({
    cmp: time(comparisonSort),
    counting: time(() => sortBySeriesTime(sid, us, n)),
    writes: time(() => bufferWrites(order)),
    dataView: time(() => encodeCopyBinary(sid, us, value, order, n)),
  });
}
const median = (k) => rounds.map((r) => r[k]).sort((a, b) => a - b)[1];
const line = (name, ms, baseMs) =>
  `${name.padEnd(44)} ${ms.toFixed(2).padStart(7)} ms/batch` +
  (baseMs ? `  (${(baseMs / ms).toFixed(1)}x faster)` : '');
process.stdout.write(`${n} readings a batch, ${reps} batches a round, median of 3 rounds\n`);
process.stdout.write(line('order: comparison sort (before)', median('cmp')) + '\n');
process.stdout.write(line('order: sortBySeriesTime', median('counting'), median('cmp')) + '\n');
process.stdout.write(line('encode: Buffer.writeInt32BE... (before)', median('writes')) + '\n');
process.stdout.write(
  line('encode: encodeCopyBinary (DataView)', median('dataView'), median('writes')) + '\n',
);
