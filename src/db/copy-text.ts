// COPY ... TO STDOUT in text format, one column: the lines as they were, with COPY's escapes undone.

/** The bytes COPY's text format writes after a backslash, and what they stand for. */
const ESCAPED: Record<number, number> = {
  0x2c: 0x2c, // \, (the delimiter, when it is a comma)
  0x5c: 0x5c, // \\
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
  0x76: 0x0b, // \v
};

/**
 * The chunks of a one-column text-format COPY with its escapes undone, so each row is its text and a line
 * feed. A chunk without a backslash, the usual case, passes as it is; UTF-8 never has 0x5c inside a character.
 */
export async function* unescapeCopyText(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending = false;
  for await (const chunk of chunks) {
    if (!pending && chunk.indexOf(0x5c) < 0) {
      yield chunk;
      continue;
    }
    const out = Buffer.allocUnsafe(chunk.length);
    let n = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (pending) {
        pending = false;
        const meant = ESCAPED[b];
        if (meant === undefined)
          throw new Error(`unexpected escape \\${String.fromCharCode(b)} in COPY output`);
        out[n++] = meant;
      } else if (b === 0x5c) pending = true;
      else out[n++] = b;
    }
    if (n) yield out.subarray(0, n);
  }
  if (pending) throw new Error('COPY output ends inside an escape');
}
