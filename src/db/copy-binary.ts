// COPY's binary format: the signature ingest writes before its rows, and the one row a packed statement's
// COPY ... TO STDOUT (FORMAT binary) returns, read back into its fields.

/** The 11 bytes that open COPY's binary format. */
export const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * The fields of the single row of a COPY ... (FORMAT binary) output: the signature, flags and header
 * extension, one tuple of `fields` fields (each a length, -1 for NULL, and its bytes), and the trailer.
 */
export function copyBinaryRow(buf: Buffer, fields: number): Array<Buffer | null> {
  if (buf.length < 19 || !buf.subarray(0, 11).equals(COPY_SIGNATURE))
    throw new Error('not COPY binary output');
  let at = 15 + 4 + buf.readInt32BE(15);
  const count = buf.readInt16BE(at);
  if (count !== fields) throw new Error(`COPY binary row with ${count} fields, expected ${fields}`);
  at += 2;
  const out: Array<Buffer | null> = [];
  for (let i = 0; i < fields; i++) {
    const len = buf.readInt32BE(at);
    at += 4;
    if (len < 0) out.push(null);
    else {
      out.push(buf.subarray(at, at + len));
      at += len;
    }
  }
  if (buf.readInt16BE(at) !== -1) throw new Error('COPY binary output with more than one row');
  return out;
}
