// The few PostgreSQL wire-protocol (v3) messages the sharing server writes or reads itself; everything
// else passes through to the engine untouched.

/** A backend message: type byte, length (itself included), body. */
export function message(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const cstring = (text: string) => Buffer.from(`${text}\0`, 'utf8');

export const authenticationOk = () => message('R', Buffer.from([0, 0, 0, 0]));

export function parameterStatus(name: string, value: string): Buffer {
  return message('S', Buffer.concat([cstring(name), cstring(value)]));
}

export function backendKeyData(pid: number, secret: number): Buffer {
  const body = Buffer.allocUnsafe(8);
  body.writeInt32BE(pid | 0, 0);
  body.writeInt32BE(secret | 0, 4);
  return message('K', body);
}

export const readyForQuery = (status: TxStatus) => message('Z', Buffer.from(status, 'latin1'));

/** CopyInResponse for text or binary COPY with the column count left to the statement (0). */
export function copyInResponse(binary: boolean): Buffer {
  return message('G', Buffer.from([binary ? 1 : 0, 0, 0]));
}

/** NegotiateProtocolVersion: we speak 3.0 and none of the `_pq_.` options the client asked for. */
export function negotiateProtocolVersion(options: string[]): Buffer {
  const head = Buffer.allocUnsafe(8);
  head.writeInt32BE(0, 0);
  head.writeInt32BE(options.length, 4);
  return message('v', Buffer.concat([head, ...options.map(cstring)]));
}

/** An ErrorResponse (severity ERROR or FATAL). */
export function errorResponse(severity: 'ERROR' | 'FATAL', code: string, text: string): Buffer {
  return message(
    'E',
    Buffer.concat([
      Buffer.from('S'),
      cstring(severity),
      Buffer.from('V'),
      cstring(severity),
      Buffer.from('C'),
      cstring(code),
      Buffer.from('M'),
      cstring(text),
      Buffer.from([0]),
    ]),
  );
}

export type TxStatus = 'I' | 'T' | 'E';

/** Frontend messages in `buf` that are complete, and where the rest begins. */
export function splitMessages(buf: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let at = 0;
  while (buf.length - at >= 5) {
    const length = buf.readInt32BE(at + 1);
    if (length < 4) throw new Error(`invalid message length ${length}`);
    if (buf.length - at < 1 + length) break;
    messages.push(buf.subarray(at, at + 1 + length));
    at += 1 + length;
  }
  return { messages, rest: buf.subarray(at) };
}

/** The transaction status of the last ReadyForQuery in a backend output, or null if it has none. */
export function lastReadyStatus(out: Uint8Array): TxStatus | null {
  let status: TxStatus | null = null;
  let at = 0;
  const view = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  while (view.length - at >= 5) {
    const length = view.readInt32BE(at + 1);
    if (view[at] === 0x5a && length === 5) status = String.fromCharCode(view[at + 5] as number) as TxStatus;
    at += 1 + length;
  }
  return status;
}

/** The key/value parameters of a StartupMessage (after its length and protocol version). */
export function startupParameters(packet: Buffer): Map<string, string> {
  const params = new Map<string, string>();
  const parts = packet.subarray(8).toString('utf8').split('\0');
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) {
    params.set(parts[i] as string, parts[i + 1] as string);
  }
  return params;
}

/** The text of a simple Query message. */
export function queryText(msg: Buffer): string {
  return msg.subarray(5, msg.length - 1).toString('utf8');
}

/** A simple Query message. */
export function query(text: string): Buffer {
  return message('Q', cstring(text));
}

/**
 * `COPY ... FROM STDIN [options]` as one statement: the COPY the server runs itself, reading what the
 * client sends from a blob, because PGlite's wire protocol cannot do COPY. Null for anything else.
 */
export function copyFromStdin(text: string): { sql: string; binary: boolean } | null {
  const trimmed = text.trim().replace(/;\s*$/, '');
  const unquoted = trimmed.replace(/'(?:[^']|'')*'/g, "''");
  if (!/^copy\s/i.test(trimmed) || unquoted.includes(';')) return null;
  const m = /\bfrom\s+stdin\b/i.exec(trimmed);
  if (!m) return null;
  const sql = `${trimmed.slice(0, m.index)}FROM '/dev/blob'${trimmed.slice(m.index + m[0].length)}`;
  return { sql, binary: /\bformat\s+binary\b|\(\s*format\s+'?binary'?/i.test(trimmed) };
}
